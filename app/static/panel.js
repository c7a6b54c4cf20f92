// The deal panel: the Create invoice dialog (a native modal <dialog>: focus moves in, Esc
// closes, Tab stays inside), removing lines, and messages when a request cannot complete.
(function () {
  function dialog() { return document.getElementById("invoice-dialog"); }
  function status(text) {
    // Inside the open dialog the panel's own status line is hidden behind the backdrop.
    var dlg = dialog();
    var box = (dlg && dlg.open && document.getElementById("dialog-result")) || document.getElementById("panel-status");
    if (!box) { return; }
    box.textContent = "";
    if (text) {
      var p = document.createElement("p");
      p.className = "card notice notice-error";
      p.setAttribute("role", "alert");
      p.textContent = text;
      box.appendChild(p);
    }
  }
  function focusFirst(root) {
    var target = root.querySelector("#open-created, [autofocus], .problem button, input:not([type=hidden]), select, textarea, button");
    if (target) { target.focus(); }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "dialog-body") { return; }
    var dlg = dialog();
    // In Pipedrive's custom modal the page is the dialog: there is no <dialog> to open.
    if (dlg && !dlg.open) { dlg.showModal(); }
    focusFirst(target);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    // Opening the dialog again: start from a clean slate (a fresh Idempotency-Key comes with it).
    if (event.detail.elt && event.detail.elt.hasAttribute("data-opens-dialog")) { status(""); }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var dlg = dialog();
      if (dlg && dlg.open) { dlg.close(); }
      return;
    }
    var copier = event.target.closest("[data-copy]");
    if (copier) {
      // Copy the share link; inside Pipedrive's iframe the clipboard API may be refused, so
      // the field is selected as well and the user can copy it by hand.
      var field = document.getElementById(copier.getAttribute("data-copy"));
      var said = document.querySelector('[data-copied-for="' + copier.getAttribute("data-copy") + '"]');
      if (!field) { return; }
      field.focus();
      field.select();
      var done = function (ok) { if (said) { said.textContent = ok ? "Copied." : "Press Ctrl+C (or Cmd+C) to copy."; } };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () { done(false); });
      } else {
        done(false);
      }
      return;
    }
    var remover = event.target.closest("[data-remove-line]");
    if (remover) {
      var line = remover.closest(".line");
      var form = remover.closest("form");
      var next = line.nextElementSibling || line.previousElementSibling;
      line.remove();
      var focus = next ? next.querySelector("textarea") : document.getElementById("add-line");
      if (focus) { focus.focus(); }
      if (form) { htmx.trigger(document.body, "recalc"); }
    }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    // New lines get indexes no other line of this dialog has used.
    var elt = event.detail.elt;
    if (elt && elt.id === "add-line") {
      var index = parseInt(elt.getAttribute("data-next-index") || "0", 10);
      event.detail.parameters["index"] = String(index);
      event.detail.path = event.detail.path.split("&index=")[0] + "&index=" + index;
      elt.setAttribute("data-next-index", String(index + 1));
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    var elt = config ? config.elt : null;
    if (elt && elt.id === "add-line") {
      var lines = document.querySelectorAll("#lines > .line");
      var last = lines[lines.length - 1];
      var box = last && last.querySelector("textarea");
      if (box) { box.focus(); }
    }
  });

  document.addEventListener("keydown", function (event) {
    // Enter in a search box searches; it must never submit (create) the invoice.
    if (event.key === "Enter" && event.target.matches && event.target.matches("#invoice-form input")) {
      event.preventDefault();
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var code = event.detail.xhr ? event.detail.xhr.status : 0;
    status("CRM Invoicing could not complete this (error " + code + "). Nothing was created by it; try again, or reload the panel if it keeps happening.");
  });
  document.addEventListener("htmx:sendError", function () {
    status("CRM Invoicing cannot be reached right now. Check your connection and try again; nothing was created.");
  });

  // Live status: ask every few seconds whether the deal's list changed (a cheap read of our own
  // rows); reload it when it did. Quiet on failure (a blip must not fill the console), and idle
  // while the panel is hidden.
  (function watch() {
    var watcher = document.getElementById("invoice-watch");
    if (!watcher || !window.fetch) { return; }
    var every = parseInt(watcher.getAttribute("data-every"), 10) || 2000;
    var busy = false;
    function tick() {
      var version = document.getElementById("list-version");
      // While any request of the panel is under way (a reload, the dialog's create), wait for
      // the next tick: that request brings the newest state, and a reload on top of it would
      // only cut it short.
      if (busy || document.hidden || !version || document.querySelector(".htmx-request")) { return; }
      busy = true;
      var url = watcher.getAttribute("data-url") + "?v=" + encodeURIComponent(version.value);
      // Our session, or inside Pipedrive a fresh signed token (pipedrive.js); null: reopen.
      window.crmInvoicing.authHeaders()
        .then(function (headers) {
          return headers ? fetch(url, { headers: headers, credentials: "same-origin" }) : null;
        })
        .then(function (response) {
          if (response && response.status === 200 && response.headers.get("HX-Trigger") === "invoices-changed") {
            htmx.trigger(document.body, "invoices-changed");
          }
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { busy = false; });
    }
    setInterval(tick, every);
  })();

  // The header's "…" menu closes once an item is chosen, or on a click elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.panel-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target) || event.target.closest("[role=menuitem]")) {
        menu.open = false;
      }
    });
  });
})();
