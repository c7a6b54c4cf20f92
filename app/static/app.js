// Our session travels as a header: cookies are unreliable inside Pipedrive's iframes.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="session-token"]');
  if (meta) { event.detail.headers["X-Session-Token"] = meta.getAttribute("content"); }
});
(function () {
  var params = new URLSearchParams(window.location.search);
  var theme = params.get("theme");
  if (theme === "dark" || theme === "light") { document.documentElement.dataset.theme = theme; }
})();

// Sign-in never stays in the address bar: a one-time ``handoff`` code (or Pipedrive's ``token``)
// has done its job once the page is rendered, so it is taken out of the address (and of the
// history, so Back does not replay a spent code). F5 signs in again from the page cookie (or
// from Pipedrive's fresh token inside its iframe).
(function () {
  if (!window.history || !window.history.replaceState) { return; }
  var url = new URL(window.location.href);
  var changed = false;
  ["handoff", "token", "session"].forEach(function (name) {
    if (url.searchParams.has(name)) { url.searchParams.delete(name); changed = true; }
  });
  if (changed) { window.history.replaceState(null, "", url.pathname + url.search + url.hash); }
})();

// Links between our pages (``data-session-link``) carry no session: on click we ask for a
// one-time code with the session header and follow the link with ``?handoff=<code>``. A link
// followed without script (or with a modifier key) still works where the page cookie is set.
document.addEventListener("click", function (event) {
  var link = event.target.closest ? event.target.closest("a[data-session-link]") : null;
  if (!link || event.defaultPrevented || event.button !== 0) { return; }
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) { return; }
  var meta = document.querySelector('meta[name="session-token"]');
  if (!meta || !window.fetch) { return; }
  event.preventDefault();
  fetch("/api/v1/session/handoff", {
    method: "POST",
    headers: { "X-Session-Token": meta.getAttribute("content") },
    credentials: "same-origin"
  })
    .then(function (r) { return r.ok ? r.json() : null; })
    .catch(function () { return null; })
    .then(function (body) {
      var url = new URL(link.href, window.location.href);
      if (body && body.handoff) { url.searchParams.set("handoff", body.handoff); }
      // Follow it as the original link would (same target, rel and download), still inside
      // the click's user activation, so a new window is not taken for a popup.
      var go = document.createElement("a");
      go.href = url.toString();
      ["target", "rel", "download"].forEach(function (name) {
        if (link.hasAttribute(name)) { go.setAttribute(name, link.getAttribute(name)); }
      });
      go.style.display = "none";
      document.body.appendChild(go);
      go.click();
      go.remove();
    });
});
