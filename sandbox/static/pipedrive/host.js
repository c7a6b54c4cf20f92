// The sandbox Pipedrive's side of the App Extensions SDK (reference pipedrive.md §3.1), speaking
// the SDK's own wire protocol (@pipedrive/app-extensions-sdk 0.15.1, dist/index.js):
//   frame → host: window.parent.postMessage({id, payload}, "*", [port]) where `id` is the
//     runtime id from the iframe's query and payload is {type: "command", command, args},
//     {type: "listener", event} or {type: "track", event} (no port);
//   host → frame: on that MessagePort, {data} or {error} answering a command, and {data} (or
//     {error}) for every occurrence of a listened-to event.
// Like Pipedrive, the host hides a frame whose SDK has not sent `initialize` in time (10 s),
// when told to (config.requireSdk): the sandbox turns it on once our pages call the SDK.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("pd-host-config").textContent);
  var appOrigin = new URL(config.appOrigin).origin;
  var EVENTS = ["visibility", "close_custom_modal", "page_visibility_state", "user_settings_change"];
  var VIEWS = ["deals", "leads", "organizations", "contacts", "campaigns", "projects", "settings"];
  var frames = {};
  var modal = null;
  var theme = config.theme === "dark" ? "dark" : "light";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function enc(value) { return encodeURIComponent(String(value)); }

  function clamp(value, low, high) { return Math.max(low, Math.min(high, value)); }

  // Keep the test knobs across REDIRECT_TO, so a redirected page is hosted the same way.
  function carried() {
    var here = new URLSearchParams(window.location.search);
    var out = "&theme=" + theme;
    ["require_sdk", "sdk_timeout_ms"].forEach(function (key) {
      if (here.has(key)) { out += "&" + key + "=" + enc(here.get(key)); }
    });
    return out;
  }

  // ---- frames and their SDK state ----------------------------------------------------------

  function register(id, kind, iframe, box) {
    var record = { id: id, kind: kind, iframe: iframe, box: box, initialized: false, listeners: {} };
    frames[id] = record;
    box.dataset.sdk = "waiting";
    if (config.requireSdk) {
      record.timer = setTimeout(function () { timedOut(record); }, config.timeoutMs);
    }
    return record;
  }

  function timedOut(record) {
    if (record.initialized || frames[record.id] !== record) { return; }
    record.iframe.hidden = true;
    record.box.dataset.sdk = "timed-out";
    var status = record.box.querySelector(".pd-ext-status");
    status.textContent = "The app did not load in time";
    status.hidden = false;
  }

  function emit(record, event, data) {
    (record.listeners[event] || []).forEach(function (port) {
      port.postMessage(data === undefined ? {} : { data: data });
    });
  }

  function listen(record, event, port) {
    if (!port) { return; }
    if (EVENTS.indexOf(event) < 0) { port.postMessage({ error: "Invalid event" }); return; }
    (record.listeners[event] = record.listeners[event] || []).push(port);
  }

  function resize(record, size) {
    if (typeof size.height === "number") {
      var height = record.kind === "panel" ? clamp(size.height, 100, 750)
        : record.kind === "modal" ? clamp(size.height, 120, Math.max(120, window.innerHeight - 80))
        : Math.max(100, size.height);
      record.iframe.style.height = height + "px";
    }
    // A panel's width is fixed; a modal's may change (min 320 px, max the browser's).
    if (record.kind === "modal" && typeof size.width === "number") {
      record.box.style.width = clamp(size.width, 320, Math.max(320, window.innerWidth - 40)) + "px";
    }
  }

  // ---- host chrome: snackbar, confirmation, modal ------------------------------------------

  var snackTimer = null;
  function snackbar(args) {
    if (!args || typeof args.message !== "string") { throw new Error("message is required"); }
    var bar = document.getElementById("pd-snackbar");
    if (!bar) {
      bar = el("div", "pd-snackbar");
      bar.id = "pd-snackbar";
      bar.setAttribute("role", "status");
      document.body.appendChild(bar);
    }
    bar.textContent = "";
    bar.appendChild(el("span", "pd-snackbar-message", args.message));
    var link = args.link;
    if (link && typeof link.url === "string" && /^https?:\/\//.test(link.url)) {
      var a = el("a", "pd-snackbar-link", link.label || link.url);
      a.href = link.url;
      a.target = "_blank";
      a.rel = "noopener";
      bar.appendChild(a);
    }
    bar.hidden = false;
    clearTimeout(snackTimer);
    snackTimer = setTimeout(function () { bar.hidden = true; }, 8000);
  }

  var confirming = Promise.resolve();
  function confirmation(args) {
    if (!args || typeof args.title !== "string") { throw new Error("title is required"); }
    // One dialog at a time: a second request waits for the first answer.
    var next = confirming.then(function () { return ask(args); });
    confirming = next.catch(function () { return null; });
    return next;
  }

  function ask(args) {
    return new Promise(function (resolve) {
      var dialog = el("dialog", "pd-confirm");
      dialog.id = "pd-confirm";
      dialog.appendChild(el("h2", "", args.title));
      if (args.description) { dialog.appendChild(el("p", "", String(args.description))); }
      var row = el("div", "pd-confirm-actions");
      var cancel = el("button", "btn", args.cancelText || "Cancel");
      var colour = { negative: "btn negative", secondary: "btn" }[args.okColor] || "btn primary";
      var ok = el("button", colour, args.okText || "OK");
      cancel.type = ok.type = "button";
      cancel.dataset.answer = "cancel";
      ok.dataset.answer = "ok";
      row.appendChild(cancel);
      row.appendChild(ok);
      dialog.appendChild(row);
      document.body.appendChild(dialog);
      function done(confirmed) {
        dialog.close();
        dialog.remove();
        resolve({ confirmed: confirmed });
      }
      cancel.addEventListener("click", function () { done(false); });
      ok.addEventListener("click", function () { done(true); });
      dialog.addEventListener("cancel", function (event) { event.preventDefault(); done(false); });
      dialog.showModal();
    });
  }

  function openModal(opener, args) {
    if (!args || args.type !== "custom_modal") {
      throw new Error("The sandbox Pipedrive hosts custom modals only");
    }
    if (!args.action_id) { throw new Error("action_id is required"); }
    if (modal) { throw new Error("A modal is already open"); }
    var selected = new URL(opener.iframe.src).searchParams.get("selectedIds") || "";
    var url = config.modalUrl + "&action_id=" + enc(args.action_id) + "&deal_id=" + enc(selected) +
      "&theme=" + theme + (args.data ? "&data=" + enc(JSON.stringify(args.data)) : "");
    return fetch(url).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.error || "No such modal"); }
        // Answered only when the modal closes: {status: "closed" | "submitted"}.
        return new Promise(function (resolve) { showModal(body, opener, resolve); });
      });
    });
  }

  function showModal(info, opener, resolve) {
    var overlay = el("div", "pd-modal-overlay");
    overlay.id = "pd-modal";
    var box = el("section", "pd-ext pd-modal");
    var head = el("header", "pd-ext-head");
    head.appendChild(el("span", "pd-ext-title", config.appName || "CRM Invoicing"));
    var close = el("button", "pd-modal-close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    head.appendChild(close);
    var status = el("p", "pd-ext-status");
    status.hidden = true;
    var iframe = el("iframe", "pd-modal-frame");
    iframe.id = "pd-modal-frame";
    iframe.title = config.appName || "CRM Invoicing";
    box.appendChild(head);
    box.appendChild(status);
    box.appendChild(iframe);
    overlay.appendChild(box);
    document.body.appendChild(overlay);
    var record = register(info.id, "modal", iframe, box);
    modal = { record: record, opener: opener, resolve: resolve, overlay: overlay };
    close.addEventListener("click", function () { closeModal("closed"); });
    iframe.src = info.url;
  }

  function closeModal(status) {
    if (!modal) { return; }
    var current = modal;
    modal = null;
    emit(current.record, "close_custom_modal");
    emit(current.opener, "close_custom_modal");
    clearTimeout(current.record.timer);
    delete frames[current.record.id];
    current.overlay.remove();
    current.resolve({ status: status });
  }

  function redirect(args) {
    if (!args || VIEWS.indexOf(args.view) < 0) { throw new Error("Unknown view"); }
    var url = config.homeUrl;
    if (args.view === "settings") {
      url = config.settingsUrl;
      var context = args.context || {};
      Object.keys(context).forEach(function (key) { url += "&" + enc(key) + "=" + enc(context[key]); });
    } else if (args.view === "deals" && args.id !== undefined && args.id !== null) {
      url = config.dealUrl.replace("{id}", enc(args.id));
    }
    // The sandbox has no leads, contacts, campaigns or projects: those land on the home page.
    setTimeout(function () { window.location.assign(url + carried()); }, 0);
  }

  // ---- commands -----------------------------------------------------------------------------

  var handlers = {
    initialize: function (record, args) {
      if (record.box.dataset.sdk === "timed-out") { throw new Error("Initialized too late"); }
      record.initialized = true;
      clearTimeout(record.timer);
      record.box.dataset.sdk = "ready";
      if (args && args.size) { resize(record, args.size); }
    },
    resize: function (record, args) { resize(record, args || {}); },
    show_snackbar: function (record, args) { snackbar(args); },
    show_confirmation: function (record, args) { return confirmation(args); },
    get_signed_token: function () {
      return fetch(config.tokenUrl).then(function (response) {
        if (!response.ok) { throw new Error("Could not sign a token"); }
        return response.json();
      }).then(function (body) { return { token: body.token }; });
    },
    open_modal: openModal,
    close_modal: function (record, args) {
      if (!modal || (record !== modal.record && record !== modal.opener)) {
        throw new Error("No custom modal is open");
      }
      // CLOSE_MODAL takes no arguments in the SDK's types; the sandbox also accepts
      // {status: "submitted"} so the opener can tell a finished dialog from a dismissed one.
      var status = args && args.status === "submitted" ? "submitted" : "closed";
      setTimeout(function () { closeModal(status); }, 0);
    },
    redirect_to: function (record, args) { redirect(args); },
    get_metadata: function () {
      return { windowHeight: window.innerHeight, windowWidth: window.innerWidth };
    },
  };

  function command(record, name, args, port) {
    if (name !== "initialize" && !record.initialized) {
      port.postMessage({ error: "SDK is not initialized" });
      return;
    }
    var handler = handlers[name];
    if (!handler) {
      port.postMessage({ error: "Command " + name + " is not available in this custom UI" });
      return;
    }
    Promise.resolve().then(function () { return handler(record, args); }).then(
      function (data) { port.postMessage(data === undefined ? {} : { data: data }); },
      function (error) { port.postMessage({ error: String((error && error.message) || error) }); }
    );
  }

  window.addEventListener("message", function (event) {
    var message = event.data;
    if (!message || typeof message !== "object" || !message.payload) { return; }
    var record = frames[message.id];
    // Only the frame that owns this runtime id, served from the app's origin, is answered.
    if (!record || event.source !== record.iframe.contentWindow || event.origin !== appOrigin) {
      return;
    }
    var payload = message.payload;
    var port = event.ports && event.ports[0];
    if (payload.type === "listener") {
      listen(record, payload.event, port);
    } else if (payload.type === "command" && port) {
      command(record, payload.command, payload.args, port);
    } else if (payload.type === "track") {
      record.box.dataset.focused = "yes";
    }
  });

  // ---- theme switch and panel collapse (user settings and visibility events) ---------------

  function setTheme(next) {
    theme = next;
    document.documentElement.dataset.theme = next;
    var button = document.getElementById("theme-switch");
    if (button) { button.textContent = (next === "dark" ? "Light" : "Dark") + " theme"; }
    var url = new URL(window.location.href);
    url.searchParams.set("theme", next);
    window.history.replaceState(null, "", url.toString());
    document.querySelectorAll('input[name="theme"]').forEach(function (input) { input.value = next; });
    Object.keys(frames).forEach(function (id) {
      emit(frames[id], "user_settings_change", { theme: next });
    });
  }

  var switcher = document.getElementById("theme-switch");
  if (switcher) {
    switcher.addEventListener("click", function () { setTheme(theme === "dark" ? "light" : "dark"); });
  }

  // Frames start loading only once they are registered, so no `initialize` is missed.
  document.querySelectorAll(".pd-ext[data-runtime-id]").forEach(function (box) {
    var iframe = box.querySelector("iframe");
    var record = register(box.dataset.runtimeId, box.dataset.kind, iframe, box);
    var toggle = box.querySelector(".pd-ext-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var visible = box.dataset.collapsed === "yes";
        box.dataset.collapsed = visible ? "no" : "yes";
        toggle.setAttribute("aria-expanded", visible ? "true" : "false");
        emit(record, "visibility", { is_visible: visible });
      });
    }
    iframe.src = iframe.dataset.src;
  });
})();
