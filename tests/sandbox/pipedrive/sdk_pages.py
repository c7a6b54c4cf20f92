"""Tiny pages that stand in for our custom UIs inside the sandbox Pipedrive host: one drives the
real App Extensions SDK (the vendored npm bundle, served from this page's own origin), one never
initialises it. Tests reach into the first through ``window.sdk`` and ``window.events``."""

from __future__ import annotations

from sandbox.templating import STATIC_DIR

SDK_BUNDLE = STATIC_DIR / "vendor" / "app-extensions-sdk-0.15.1" / "index.umd.js"

SDK_PAGE = """<!doctype html><title>SDK page</title><p id="out">loading</p>
<script src="/sdk.js"></script>
<script>
window.events = [];
window.ready = new AppExtensionsSDK().initialize({size: {height: 320}}).then(function (sdk) {
  window.sdk = sdk;
  ["user_settings_change", "close_custom_modal", "visibility"].forEach(function (name) {
    sdk.listen(name, function (response) { window.events.push([name, response]); });
  });
  document.getElementById("out").textContent = "initialised";
  return sdk;
});
</script>"""

SILENT_PAGE = """<!doctype html><title>No SDK</title><p id="out">I never call the SDK.</p>"""
