/* threadbridge widget loader: runs in the team's page and only places the chat's frame.
 * <script src="https://HOST/widget.js" async></script>, optional data-language, data-title, data-colour,
 * data-position, or window.threadbridge = {language, title, colour, position, user: {id, name, email,
 * identity_hash}}. No eval, no inline code, no styles of the page's touched: the chat runs in its own frame. */
(function () {
  "use strict";
  if (window.__threadbridge) return;
  window.__threadbridge = true;

  var script = document.currentScript;
  if (!script) {
    var found = document.querySelectorAll('script[src*="/widget.js"]');
    script = found[found.length - 1];
  }
  if (!script) return;
  var bot = new URL(script.src, location.href).origin;
  var given = window.threadbridge || {};
  var data = script.dataset || {};
  var settings = {
    language: given.language || data.language,
    title: given.title || data.title,
    colour: given.colour || given.color || data.colour || data.color,
    position: given.position || data.position
  };
  var user = given.user && given.user.id ? {
    id: String(given.user.id),
    name: given.user.name ? String(given.user.name) : "",
    email: given.user.email ? String(given.user.email) : "",
    hash: String(given.user.identity_hash || given.user.hash || "")
  } : null;
  var left = settings.position === "left";
  var state = "closed";

  var query = "origin=" + encodeURIComponent(location.origin);
  ["language", "title", "colour", "position"].forEach(function (key) {
    if (settings[key]) query += "&" + key + "=" + encodeURIComponent(settings[key]);
  });

  var frame = document.createElement("iframe");
  frame.src = bot + "/website/frame?" + query;
  frame.title = settings.title || "Chat";
  frame.setAttribute("allowtransparency", "true");
  var style = frame.style;
  style.position = "fixed";
  style.border = "0";
  style.margin = "0";
  style.padding = "0";
  style.zIndex = "2147483000";
  style.background = "transparent";
  style.colorScheme = "normal";
  style.maxWidth = "100vw";
  style.maxHeight = "100vh";

  function phone() {
    return window.innerWidth < 640;
  }

  function place() {
    var full = state === "open" && phone();
    style.bottom = full ? "0" : "12px";
    style.top = full ? "0" : "auto";
    style.left = left ? (full ? "0" : "12px") : "auto";
    style.right = left ? "auto" : (full ? "0" : "12px");
    if (state !== "open") {
      style.width = "84px";
      style.height = "84px";
    } else if (full) {
      style.width = "100vw";
      style.height = "100%";
    } else {
      style.width = "400px";
      style.height = Math.min(680, window.innerHeight - 24) + "px";
    }
    tell({ type: "layout", phone: full });
  }

  function tell(message) {
    if (frame.contentWindow) frame.contentWindow.postMessage(message, bot);
  }

  function page() {
    return { url: location.href, title: document.title, referrer: document.referrer };
  }

  var lastUrl = location.href;
  function watch() {
    if (location.href === lastUrl) return;
    lastUrl = location.href;
    tell({ type: "page", page: page() });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== bot || event.source !== frame.contentWindow || !event.data) return;
    if (event.data.type === "ready") {
      tell({ type: "init", user: user, page: page() });
      place();
    } else if (event.data.type === "size") {
      state = event.data.state === "open" ? "open" : "closed";
      place();
    }
  });
  window.addEventListener("resize", place);
  window.addEventListener("popstate", watch);
  window.addEventListener("hashchange", watch);
  setInterval(watch, 1000);

  place();
  function mount() {
    document.body.appendChild(frame);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
