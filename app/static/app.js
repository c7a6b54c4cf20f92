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
