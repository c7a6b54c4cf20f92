// The Connections page follows a connect done in the other window: while a Connect/Reconnect
// window is open (after its link is clicked) and whenever this page gets the focus back, it
// re-reads the provider's card and swaps it in when it changed, so "Not connected" does not
// linger until a reload. Stops polling once the card changed or after POLL_FOR_MS.
(function () {
  var POLL_EVERY_MS = 2000;
  var POLL_FOR_MS = 10 * 60 * 1000;
  var timers = {};

  function token() {
    var meta = document.querySelector('meta[name="session-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  // What a connect changes (status, organisation, who and when), not the sync clock's minutes.
  function signature(card) {
    var badge = card.querySelector(".badge");
    var parts = [badge ? badge.className : ""];
    card.querySelectorAll("dd:not(.sync-health)").forEach(function (dd) { parts.push(dd.textContent); });
    return parts.join("|");
  }

  function refresh(provider) {
    var card = document.getElementById("conn-" + provider);
    var session = token();
    if (!card || !session || !window.fetch) { return Promise.resolve(false); }
    return fetch("/connections/" + provider + "/card", {
      headers: { "X-Session-Token": session },
      credentials: "same-origin"
    })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var now = document.getElementById("conn-" + provider);
        if (!html || !now) { return false; }
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        if (!fresh || signature(fresh) === signature(now)) { return false; }
        now.replaceWith(fresh);
        if (window.htmx) { window.htmx.process(fresh); }
        return true;
      })
      .catch(function () { return false; });
  }

  function stop(provider) {
    if (timers[provider]) { window.clearInterval(timers[provider]); delete timers[provider]; }
  }

  function poll(provider) {
    stop(provider);
    var until = Date.now() + POLL_FOR_MS;
    timers[provider] = window.setInterval(function () {
      if (Date.now() > until) { stop(provider); return; }
      refresh(provider).then(function (changed) { if (changed) { stop(provider); } });
    }, POLL_EVERY_MS);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".conn-actions a[target]") : null;
    var card = link ? link.closest(".conn-card") : null;
    if (card && card.id.indexOf("conn-") === 0) { poll(card.id.slice(5)); }
  });

  window.addEventListener("focus", function () {
    document.querySelectorAll(".conn-card").forEach(function (card) { refresh(card.id.slice(5)); });
  });
})();
