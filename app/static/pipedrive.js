// Inside Pipedrive: the App Extensions SDK (vendor/app-extensions-sdk-*.umd.js, docs/pipedrive-extensions.md).
// Pipedrive hides a custom UI iframe whose SDK has not initialised within 10 s, so every page it
// frames (the deal panel, the Create invoice modal, the settings page) initialises it at load.
// Outside Pipedrive (not framed, or framed without the SDK's ``id``) nothing here runs and each
// page keeps its own dialog, confirmations and messages.
//
// Once initialised, the page:
// - asks for RESIZE as its content changes (the panel never scrolls inside itself);
// - follows the user's theme (``userSettings`` and USER_SETTINGS_CHANGE);
// - sends a fresh signed token (GET_SIGNED_TOKEN) with every request, as ``Authorization:
//   Bearer`` with the frame's ``X-Frame-User-Id``/``X-Frame-Company-Id`` (the server refuses a
//   token for anyone else); an expired one is asked for again once, then "Please reopen";
// - asks SHOW_CONFIRMATION instead of the browser's confirm() for ``hx-confirm``;
// - shows results with SHOW_SNACKBAR (``data-snackbar`` in a swapped fragment);
// - opens the Create invoice dialog as a custom modal (OPEN_MODAL) and refreshes the list when
//   it closes; in the modal, closes it (CLOSE_MODAL) when done;
// - sends the user elsewhere in Pipedrive with REDIRECT_TO (``data-pipedrive-redirect``).
(function () {
  var api = window.crmInvoicing = window.crmInvoicing || {};
  var params = new URLSearchParams(window.location.search);
  var frame = { userId: params.get("userId"), companyId: params.get("companyId") };
  var framed = window.self !== window.top;
  var SDK = window.AppExtensionsSDK;
  var REOPEN = "Please reopen the panel: Pipedrive's sign-in for it has expired.";
  var sdk = null;
  var bearer = null; // the token for the request being issued (htmx:configRequest adds it)

  api.sdk = null;
  api.reopenMessage = REOPEN;

  function surface() {
    var main = document.querySelector("main");
    if (main && main.classList.contains("modal-page")) { return "modal"; }
    if (main && main.classList.contains("panel-page")) { return "panel"; }
    return "settings";
  }

  function contentHeight() {
    var main = document.querySelector("main");
    var body = document.body;
    var height = main ? main.getBoundingClientRect().height : 0;
    if (body) {
      var style = window.getComputedStyle(body);
      height += parseFloat(style.marginTop) + parseFloat(style.marginBottom);
    }
    return Math.ceil(Math.max(height, body ? body.scrollHeight : 0, 100));
  }

  // The modal asks for the room its template names (the dialog's three sections); the panel
  // and the settings page for their content's height.
  function modalSize() {
    var box = document.querySelector("[data-custom-modal]");
    return {
      width: Number(box && box.getAttribute("data-width")) || 960,
      height: Number(box && box.getAttribute("data-height")) || 760
    };
  }

  function initialSize() {
    return surface() === "modal" ? modalSize() : { height: contentHeight() };
  }

  function applyTheme(value) {
    if (value === "dark" || value === "light") { document.documentElement.dataset.theme = value; }
  }

  function status(text) {
    var box = document.getElementById("panel-status") || document.getElementById("pipedrive-status");
    if (!box) {
      // Pages without the panel's status line (the settings page) get one at the top.
      var main = document.querySelector("main");
      if (!main) { return; }
      box = document.createElement("div");
      box.id = "pipedrive-status";
      box.setAttribute("role", "status");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = "";
    if (!text) { return; }
    var p = document.createElement("p");
    p.className = "card notice notice-error";
    p.setAttribute("role", "alert");
    p.id = "reopen-notice";
    p.textContent = text;
    box.appendChild(p);
  }

  // The JWT's ``exp`` (seconds), read without verifying: only to ask for a fresh one early.
  function expired(token) {
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      var claims = JSON.parse(window.atob(part + "===".slice((part.length + 3) % 4)));
      return typeof claims.exp === "number" && claims.exp * 1000 <= Date.now();
    } catch (e) {
      return false; // the server decides
    }
  }

  function signedToken() {
    return sdk.execute(SDK.Command.GET_SIGNED_TOKEN).then(function (data) {
      return data && data.token ? data.token : null;
    });
  }

  // A fresh token for one request; an expired answer is asked for again once, and then the
  // page says to reopen it (null: the request is not sent).
  function freshToken() {
    return signedToken()
      .then(function (token) { return token && !expired(token) ? token : signedToken(); })
      .then(function (token) {
        if (token && !expired(token)) { return token; }
        status(REOPEN);
        return null;
      }, function () { status(REOPEN); return null; });
  }

  function frameHeaders(token) {
    var headers = { "Authorization": "Bearer " + token };
    if (frame.userId) { headers["X-Frame-User-Id"] = frame.userId; }
    if (frame.companyId) { headers["X-Frame-Company-Id"] = frame.companyId; }
    return headers;
  }

  function sessionHeaders() {
    var meta = document.querySelector('meta[name="session-token"]');
    return meta ? { "X-Session-Token": meta.getAttribute("content") } : {};
  }

  // Headers for a fetch() of ours (the panel's live-status poll): inside Pipedrive a fresh
  // token with each, else our session. Resolves null when the page must be reopened.
  api.authHeaders = function () {
    if (!sdk) { return Promise.resolve(sessionHeaders()); }
    return freshToken().then(function (token) {
      if (!token) { return null; }
      var headers = frameHeaders(token);
      var session = sessionHeaders();
      Object.keys(session).forEach(function (k) { headers[k] = session[k]; });
      return headers;
    });
  };

  function confirmQuestion(question, elt) {
    // "Void INV-0005? The invoice stays in Xero, marked void." → title and description.
    var cut = question.indexOf("?");
    var title = cut > 0 ? question.slice(0, cut + 1) : question;
    var description = cut > 0 ? question.slice(cut + 1).trim() : "";
    var args = {
      title: title,
      // ``data-confirm-ok`` names the button when the element's own text is longer ("Change
      // the item of line 1" asks "Unlink …?", answered "Unlink").
      okText: elt.getAttribute("data-confirm-ok") || (elt.textContent || "OK").trim() || "OK",
      cancelText: "Cancel",
      okColor: elt.classList.contains("danger") ? SDK.Color.NEGATIVE : SDK.Color.PRIMARY
    };
    if (description) { args.description = description; }
    return sdk.execute(SDK.Command.SHOW_CONFIRMATION, args).then(function (data) {
      return !!(data && data.confirmed);
    }, function () { return false; });
  }

  function openModal(form) {
    var provider = form.querySelector('[name="provider"]');
    var data = { dealId: Number(form.getAttribute("data-deal")), provider: provider ? provider.value : "xero" };
    if (frame.companyId) { data.companyId = Number(frame.companyId); }
    return sdk.execute(SDK.Command.OPEN_MODAL, {
      type: SDK.Modal.CUSTOM_MODAL,
      action_id: form.getAttribute("data-modal-id"),
      data: data
    }).then(function (result) {
      // Refresh on ``submitted`` and on any close: the list is a cheap read of our rows, and a
      // modal closed from its own chrome after creating has created all the same.
      document.body.dispatchEvent(new CustomEvent("invoices-changed", { bubbles: true }));
      return result;
    });
  }

  // Every htmx request, inside Pipedrive: confirm with Pipedrive's dialog, then attach a fresh
  // token. The Create invoice button opens the custom modal instead of the panel's <dialog>.
  document.addEventListener("htmx:confirm", function (event) {
    if (!sdk) { return; }
    var detail = event.detail;
    var elt = detail.elt;
    event.preventDefault();
    if (elt.hasAttribute("data-opens-dialog") && elt.getAttribute("data-modal-id")) {
      openModal(elt);
      return;
    }
    var asked = detail.question ? confirmQuestion(detail.question, elt) : Promise.resolve(true);
    asked.then(function (ok) { return ok ? freshToken() : null; }).then(function (token) {
      if (!token) { return; }
      bearer = token;
      try { detail.issueRequest(true); } finally { bearer = null; }
    });
  });

  document.addEventListener("htmx:configRequest", function (event) {
    if (!bearer) { return; }
    var headers = frameHeaders(bearer);
    Object.keys(headers).forEach(function (k) { event.detail.headers[k] = headers[k]; });
  });

  // A refusal of Pipedrive's sign-in (401) shows nothing of the page: only the notice.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!sdk || !event.detail.xhr || event.detail.xhr.status !== 401) { return; }
    event.detail.shouldSwap = false;
    status(REOPEN);
  });

  function snackbars(root) {
    (root.querySelectorAll ? root.querySelectorAll("[data-snackbar]") : []).forEach(function (el) {
      var args = { message: el.getAttribute("data-snackbar") };
      if (el.getAttribute("data-snackbar-url")) {
        args.link = { url: el.getAttribute("data-snackbar-url"), label: el.getAttribute("data-snackbar-label") || "Open" };
      }
      sdk.execute(SDK.Command.SHOW_SNACKBAR, args).catch(function () {});
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!sdk) { return; }
    var target = event.detail.target;
    if (!target) { return; }
    snackbars(target);
    if (surface() === "modal" && target.querySelector("#created-state")) {
      // Created: the snackbar says so (with the link), the modal closes as ``submitted`` (the
      // SDK passes the argument on; how the real Pipedrive reports it is UNCONFIRMED, so the
      // panel refreshes on any close), the panel refreshes.
      sdk.execute(SDK.Command.CLOSE_MODAL, { status: SDK.ModalStatus.SUBMITTED }).catch(function () {});
    }
  });

  document.addEventListener("click", function (event) {
    if (!sdk || !event.target.closest) { return; }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer && surface() === "modal") {
      event.preventDefault();
      event.stopPropagation();
      sdk.execute(SDK.Command.CLOSE_MODAL).catch(function () {});
      return;
    }
    var link = event.target.closest("a[data-session-link]");
    if (link && !link.target) { keepFrame(link); }
    var away = event.target.closest("[data-pipedrive-redirect]");
    if (away) {
      event.preventDefault();
      var args = { view: away.getAttribute("data-pipedrive-redirect") };
      if (away.getAttribute("data-pipedrive-id")) { args.id = away.getAttribute("data-pipedrive-id"); }
      sdk.execute(SDK.Command.REDIRECT_TO, args).catch(function () {});
    }
  }, true);

  // A link to another of our pages opened in this same frame keeps Pipedrive's runtime ``id``
  // (and the frame's ids and theme): the next page initialises the SDK with it, as Pipedrive
  // asks of a page that navigates inside its iframe. (app.js then adds the one-time code.)
  function keepFrame(link) {
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin) { return; }
    ["id", "userId", "companyId", "theme"].forEach(function (name) {
      var value = name === "theme" ? document.documentElement.dataset.theme : params.get(name);
      if (value && value !== "auto" && !url.searchParams.has(name)) { url.searchParams.set(name, value); }
    });
    link.href = url.toString();
  }

  function watchSize() {
    var last = 0;
    var queued = false;
    function send() {
      queued = false;
      var height = contentHeight();
      if (height === last) { return; }
      last = height;
      if (surface() === "modal") { return; } // the modal keeps the size it asked for and scrolls
      sdk.execute(SDK.Command.RESIZE, { height: height }).catch(function () {});
    }
    function later() {
      if (!queued) { queued = true; window.requestAnimationFrame(send); }
    }
    if (window.ResizeObserver) {
      var observer = new ResizeObserver(later);
      observer.observe(document.body);
      var main = document.querySelector("main");
      if (main) { observer.observe(main); }
    }
    document.addEventListener("htmx:afterSettle", later);
    later();
  }

  // Reloaded inside Pipedrive (F5 in the frame, or a panel left open past its session): the
  // page's address has no token, so the server asked for a sign-in. Trade a fresh signed token
  // for a one-time code and load the page again with it; once only, so a refusal stays shown.
  function signInAgain() {
    var marker = "crm-invoicing-reauth:";
    if (window.name.indexOf(marker) === 0 && Date.now() - Number(window.name.slice(marker.length)) < 15000) { return; }
    window.name = marker + Date.now();
    var query = new URLSearchParams();
    if (frame.userId) { query.set("userId", frame.userId); }
    if (frame.companyId) { query.set("companyId", frame.companyId); }
    freshToken()
      .then(function (token) {
        if (!token) { return null; }
        return fetch("/api/v1/session?" + query.toString(), { method: "POST", headers: { "Authorization": "Bearer " + token } })
          .then(function (r) { return r.ok ? r.json() : null; });
      })
      .then(function (body) {
        if (!body || !body.session_token) { return null; }
        return fetch("/api/v1/session/handoff", { method: "POST", headers: { "X-Session-Token": body.session_token } })
          .then(function (r) { return r.ok ? r.json() : null; });
      })
      .then(function (body) {
        if (!body || !body.handoff) { return; }
        var url = new URL(window.location.href);
        url.searchParams.set("handoff", body.handoff);
        window.location.replace(url.toString());
      })
      .catch(function () {});
  }

  function ready(instance) {
    sdk = instance;
    api.sdk = instance;
    document.documentElement.setAttribute("data-pipedrive", surface());
    applyTheme(instance.userSettings && instance.userSettings.theme);
    instance.listen(SDK.Event.USER_SETTINGS_CHANGE, function (message) {
      var settings = message && message.data ? message.data : message;
      applyTheme(settings && settings.theme);
    });
    watchSize();
    if (document.querySelector("[data-reauth]")) { signInAgain(); }
  }

  function start() {
    if (!framed || !SDK || !params.get("id")) { return; }
    var instance;
    try {
      instance = new SDK();
    } catch (e) {
      return; // not opened by Pipedrive's SDK host: standalone behaviour
    }
    instance.initialize({ size: initialSize() }).then(ready, function () {});
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
