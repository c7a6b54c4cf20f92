// Keeps our session alive inside Pipedrive's iframe, where cookies are unreliable:
// renews the token in the session-token meta tag (sent by app.js on every htmx request).
// The token lives only in the page (never in a URL); app.js cleans the address bar.
(function () {
  var RENEW_EVERY_MS = 20 * 60 * 1000;

  function meta() { return document.querySelector('meta[name="session-token"]'); }

  function store(body) {
    var tag = meta();
    if (tag && body && body.session_token) { tag.setAttribute("content", body.session_token); }
    return body;
  }

  function renew() {
    var tag = meta();
    if (!tag) { return Promise.resolve(null); }
    return fetch("/api/v1/session", { headers: { "X-Session-Token": tag.getAttribute("content") } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(store)
      .catch(function () { return null; });
  }

  // For the App Extensions SDK: pass it the token from GET_SIGNED_TOKEN.
  function signInWithPipedriveToken(jwt) {
    return fetch("/api/v1/session", { method: "POST", headers: { "Authorization": "Bearer " + jwt } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(store);
  }

  window.crmInvoicing = window.crmInvoicing || {};
  window.crmInvoicing.renewSession = renew;
  window.crmInvoicing.signInWithPipedriveToken = signInWithPipedriveToken;

  setInterval(renew, RENEW_EVERY_MS);
})();
