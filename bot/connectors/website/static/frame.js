/* threadbridge chat, inside its frame. Every text is put in with textContent; links are <a> elements built here,
 * http(s) only. Messages typed while offline wait in localStorage and go once (the bot keeps each client id once);
 * on reconnect the bot is asked for everything after the last entry shown. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("tb-config").textContent);
  var params = new URLSearchParams(location.search);
  var lang = pickLanguage(params.get("language") || cfg.language);
  var T = cfg.texts[lang];
  var title = (params.get("title") || cfg.title[lang]).slice(0, 60);
  var colour = /^#[0-9a-fA-F]{6}$/.test(params.get("colour") || "") ? params.get("colour") : cfg.colour;
  var position = params.get("position") === "left" || params.get("position") === "right" ?
    params.get("position") : cfg.position;
  var SVG = "http://www.w3.org/2000/svg";
  var CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var SEND_ICON = "M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z";
  var CLIP_ICON = "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5" +
    "a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z";

  document.documentElement.lang = lang;
  document.documentElement.style.setProperty("--tb-colour", colour);
  document.title = title;

  function pickLanguage(wanted) {
    if (wanted === "ko" || wanted === "en") return wanted;
    var asked = (navigator.languages || [navigator.language || "en"]);
    for (var i = 0; i < asked.length; i++) {
      var code = String(asked[i]).slice(0, 2).toLowerCase();
      if (code === "ko" || code === "en") return code;
    }
    return "en";
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? String(values[key]) : all; });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function icon(path) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var shape = document.createElementNS(SVG, "path");
    shape.setAttribute("d", path);
    svg.appendChild(shape);
    return svg;
  }

  function bytes(n) {
    return n >= 1048576 ? (Math.round(n / 104857.6) / 10) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB";
  }

  function randomId() {
    var a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var store = {
    get: function (key, fallback) {
      try { var v = localStorage.getItem("tb:" + key); return v === null ? fallback : JSON.parse(v); }
      catch (e) { return fallback; }
    },
    set: function (key, value) {
      try { localStorage.setItem("tb:" + key, JSON.stringify(value)); } catch (e) { /* storage off: memory only */ }
    }
  };

  // --- the page ------------------------------------------------------------------------------------------
  var body = document.body;
  body.className = "tb-" + position;
  var launcher = el("button", "tb-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-label", T.open);
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "tb-panel");
  launcher.appendChild(icon(CHAT_ICON));
  var badge = el("span", "tb-badge");
  badge.hidden = true;
  launcher.appendChild(badge);

  var panel = el("section", "tb-panel");
  panel.id = "tb-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var head = el("header", "tb-head");
  var heading = el("div");
  heading.appendChild(el("h1", "", title));
  var status = el("p", "tb-status");
  status.hidden = true;
  heading.appendChild(status);
  var closer = el("button", "tb-close", "×");
  closer.type = "button";
  closer.setAttribute("aria-label", T.close);
  head.appendChild(heading);
  head.appendChild(closer);
  var notice = el("p", "tb-notice");
  notice.setAttribute("role", "status");
  notice.hidden = true;
  var log = el("div", "tb-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", T.messages);
  log.tabIndex = 0;
  log.appendChild(bubble("bot", title, cfg.greeting[lang]).node);

  var away = el("div", "tb-away");
  away.hidden = true;
  var awayText = el("p");
  var emailForm = el("form");
  emailForm.noValidate = true;  // our own message, in the visitor's language, instead of the browser's bubble
  var emailLabel = el("label", "tb-sr", T.email_label);
  var emailInput = el("input");
  emailInput.type = "email";
  emailInput.id = "tb-email";
  emailInput.placeholder = "you@example.com";
  emailInput.autocomplete = "email";
  emailLabel.htmlFor = "tb-email";
  var emailButton = el("button", "", T.email_save);
  emailButton.type = "submit";
  emailForm.appendChild(emailLabel);
  emailForm.appendChild(emailInput);
  emailForm.appendChild(emailButton);
  away.appendChild(awayText);
  away.appendChild(emailForm);

  var compose = el("form", "tb-compose");
  var picker = el("input");
  picker.type = "file";
  picker.hidden = true;
  picker.multiple = true;
  var attach = el("button", "tb-attach");
  attach.type = "button";
  attach.setAttribute("aria-label", T.attach);
  attach.title = fill(T.file_limit, { size: bytes(cfg.maxFile) });
  attach.appendChild(icon(CLIP_ICON));
  var input = el("textarea");
  input.rows = 1;
  input.placeholder = T.placeholder;
  input.setAttribute("aria-label", T.placeholder);
  input.maxLength = cfg.maxText;
  var send = el("button", "tb-send");
  send.type = "submit";
  send.setAttribute("aria-label", T.send);
  send.appendChild(icon(SEND_ICON));
  compose.appendChild(picker);
  compose.appendChild(attach);
  compose.appendChild(input);
  compose.appendChild(send);
  var hint = el("p", "tb-hint", fill(T.file_limit, { size: bytes(cfg.maxFile) }) + " · " + T.hint);

  [head, notice, log, away, compose, hint].forEach(function (n) { panel.appendChild(n); });
  body.appendChild(panel);
  body.appendChild(launcher);

  // --- messages ------------------------------------------------------------------------------------------
  var shown = {};    // "w:<id>" / "s:<id>" -> true: what is on the page already
  var mine = {};     // client id -> the bubble of a message this page wrote
  var cursor = { w: 0, s: 0 };
  var unread = 0;

  function linkified(text) {
    var out = document.createDocumentFragment();
    var pattern = /https?:\/\/[^\s<>"']+/gi;
    var at = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      var url = match[0].replace(/[.,;:!?)\]]+$/, "");
      out.appendChild(document.createTextNode(text.slice(at, match.index)));
      out.appendChild(link(url, url) || document.createTextNode(url));
      at = match.index + url.length;
      pattern.lastIndex = at;
    }
    out.appendChild(document.createTextNode(text.slice(at)));
    return out;
  }

  function link(href, label) {
    var url;
    try { url = new URL(href); } catch (e) { return null; }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    var a = el("a", "", label);
    a.href = url.href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  var STYLE_TAGS = { b: "strong", i: "em", s: "s", code: "code", pre: "pre" };
  function rendered(runs) {
    var out = document.createDocumentFragment();
    runs.forEach(function (run) {
      var styles = run.s || [];
      var node = (run.h && link(run.h, run.t)) || linkified(run.t);
      Object.keys(STYLE_TAGS).forEach(function (s) {
        if (styles.indexOf(s) < 0) return;
        var wrap = el(STYLE_TAGS[s]);
        wrap.appendChild(node);
        node = wrap;
      });
      if (styles.indexOf("quote") >= 0) {
        var quote = el("span", "tb-quote");
        quote.appendChild(node);
        node = quote;
      }
      out.appendChild(node);
    });
    return out;
  }

  function bubble(kind, who, text, runs) {
    var node = el("div", "tb-msg" + (kind === "mine" ? " tb-mine" : ""));
    node.appendChild(el("span", "tb-who", who));
    var content = el("div", "tb-body");
    content.appendChild(runs ? rendered(runs) : linkified(text || ""));
    node.appendChild(content);
    return { node: node, body: content };
  }

  function showFile(target, file) {
    var a = link(new URL(file.url, location.href).href, file.name + " (" + bytes(file.size) + ")");
    if (!a) return;
    if (file.image) {
      var img = el("img", "tb-img");
      img.src = a.href;
      img.alt = file.name;
      a.textContent = "";
      a.appendChild(img);
    } else {
      a.className = "tb-file";
      a.setAttribute("download", file.name);
    }
    if (target.textContent) target.appendChild(document.createTextNode("\n"));
    target.appendChild(a);
  }

  function scroll() {
    log.scrollTop = log.scrollHeight;
  }

  function add(entry, live) {
    var key = entry.k + ":" + entry.id;
    if (shown[key]) return;
    shown[key] = true;
    cursor[entry.k] = Math.max(cursor[entry.k], entry.id);
    if (entry.k === "w") {
      var own = mine[entry.cid];
      if (own) {
        stored(own);
        return;
      }
      var view = bubble("mine", T.you, entry.text);
      (entry.files || []).forEach(function (f) { showFile(view.body, f); });
      mine[entry.cid] = view;
      log.appendChild(view.node);
    } else {
      var who = entry.from === "staff" && entry.author ? entry.author : title;
      var part = bubble("team", who, entry.text, entry.runs);
      if (entry.file) showFile(part.body, entry.file);
      if (entry.buttons) part.node.appendChild(choices(entry.buttons));
      log.appendChild(part.node);
      if (live && panel.hidden) {
        unread += 1;
        badge.hidden = false;
        badge.textContent = String(unread);
        launcher.setAttribute("aria-label", T.open + ", " + fill(T.unread, { count: unread }));
      }
    }
    scroll();
  }

  function stored(view) {
    view.node.className = "tb-msg tb-mine";
    if (view.meta) view.meta.remove();
    view.meta = null;
  }

  function choices(rows) {
    var box = el("div", "tb-choices");
    rows.forEach(function (row) {
      row.forEach(function (choice) {
        var b = el("button", "tb-choice", choice.label);
        b.type = "button";
        b.setAttribute("aria-pressed", "false");
        b.dataset.data = choice.data;
        b.addEventListener("click", function () {
          send_({ t: "pick", data: choice.data, key: randomId() });
        });
        box.appendChild(b);
      });
    });
    return box;
  }

  function picked(frame) {
    var buttons = log.querySelectorAll(".tb-choice");
    Array.prototype.forEach.call(buttons, function (b) {
      if (b.dataset.data !== frame.data) return;
      var siblings = b.parentNode.querySelectorAll(".tb-choice");
      Array.prototype.forEach.call(siblings, function (s) {
        var chosen = s === b && (frame.status === "chosen" || frame.status === "kept" || frame.status === "duplicate");
        s.setAttribute("aria-pressed", chosen ? "true" : "false");
        if (frame.status !== "unknown") s.disabled = true;
      });
    });
    if (frame.notice) say(frame.notice);
  }

  function divider(text) {
    log.appendChild(el("p", "tb-divider", text));
    scroll();
  }

  var noticeTimer = null;
  function say(text, sticky) {
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    if (!sticky) noticeTimer = setTimeout(function () { notice.hidden = true; }, 8000);
  }

  // --- the connection ------------------------------------------------------------------------------------
  var ws = null;
  var ready = false;
  var token = store.get("token", null);
  var user = null;
  var page = { url: "", title: "", referrer: "" };
  var known = false;
  var blocked = null;
  var outbox = store.get("outbox", []);
  var views = store.get("views", []);
  var inFlight = null;
  var sessionToken = null;
  var retryAt = 0;
  var backoff = 1000;
  var reconnectTimer = null;

  function send_(frame) {
    if (ws && ready && ws.readyState === 1) ws.send(JSON.stringify(frame));
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (ws && ws.readyState <= 1) return;
    ready = false;
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/website/ws");
    ws.onopen = function () {
      ws.send(JSON.stringify({ t: "hello", token: token, origin: cfg.origin, lang: lang,
        page: page, after: cursor, user: user }));
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      receive(frame);
    };
    ws.onclose = function () {
      ready = false;
      inFlight = null;
      if (outbox.length) say(T.offline, true);
      reconnectTimer = setTimeout(connect, backoff + Math.random() * 500);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  function receive(frame) {
    if (frame.t === "welcome") welcome(frame);
    else if (frame.t === "entry") add(frame, true);
    else if (frame.t === "ack") acked(frame);
    else if (frame.t === "error") refused(frame);
    else if (frame.t === "picked") picked(frame);
    else if (frame.t === "state" && frame.open === false) divider(T.closed);
    else if (frame.t === "email") emailSaved(frame.email);
  }

  function welcome(frame) {
    ready = true;
    backoff = 1000;
    notice.hidden = true;
    sessionToken = frame.token || null;
    if (frame.token && !frame.verified) {
      token = frame.token;
      store.set("token", token);
    }
    if (frame.notice) say(T[frame.notice] || "", true);
    if (frame.identity === "refused") say(T.identity_refused, true);
    blocked = frame.blocked || null;
    input.disabled = attach.disabled = send.disabled = !!blocked;
    if (blocked) say(T[blocked] || blocked, true);
    known = !!frame.known;
    (frame.entries || []).forEach(function (e) { add(e, false); });
    if (frame.open === false && frame.entries && frame.entries.length) divider(T.closed);
    hours(frame.hours);
    flush();
    if (known) flushViews();
  }

  function hours(h) {
    if (!h || h.open || cfg.afterHours === "off") {
      status.hidden = true;
      away.hidden = true;
      return;
    }
    var when = "";
    if (h.opens_at) {
      try {
        when = new Intl.DateTimeFormat(lang, { weekday: "short", hour: "2-digit", minute: "2-digit" })
          .format(new Date(h.opens_at));
      } catch (e) { when = ""; }
    }
    status.textContent = when ? fill(T.away, { when: when }) : T.away_unknown;
    status.hidden = false;
    var asked = cfg.afterHours === "ask_email" && !store.get("email", null) && !blocked;
    awayText.textContent = T.email_prompt;
    away.hidden = !asked;
  }

  function acked(frame) {
    outbox = outbox.filter(function (m) { return m.cid !== frame.cid; });
    store.set("outbox", outbox);
    if (inFlight === frame.cid) inFlight = null;
    if (mine[frame.cid]) stored(mine[frame.cid]);
    if (frame.id) {
      shown["w:" + frame.id] = true;
      cursor.w = Math.max(cursor.w, frame.id);
    }
    if (!known) {
      known = true;
      views = [];
      store.set("views", views);
    }
    if (!outbox.length) notice.hidden = true;
    flush();
  }

  function refused(frame) {
    var wait = (frame.retry_after || 3) * 1000;
    if (frame.code === "rate_limited" || frame.code === "unavailable") {
      if (frame.code === "rate_limited") say(fill(T.rate_limited, { seconds: frame.retry_after || 1 }));
      inFlight = null;
      retryAt = Date.now() + wait;
      setTimeout(flush, wait);
      return;
    }
    if (frame.code === "busy" || frame.code === "origin_refused") {
      say(T[frame.code], true);
      backoff = Math.max(backoff, wait);
      return;
    }
    if (frame.code === "email_invalid") { say(T.email_invalid); return; }
    if (frame.code === "too_long") say(fill(T.too_long, { limit: frame.limit || cfg.maxText }));
    if (frame.code === "identity_required") say(T.identity_required, true);
    if (frame.cid) {
      outbox = outbox.filter(function (m) { return m.cid !== frame.cid; });
      store.set("outbox", outbox);
      var failed = mine[frame.cid];
      if (failed) {
        failed.node.className = "tb-msg tb-mine tb-failed";
        if (failed.meta) failed.meta.textContent = T[frame.code] ? fill(T[frame.code], { limit: cfg.maxText }) : "";
      }
      if (inFlight === frame.cid) inFlight = null;
      flush();
    }
  }

  function flush() {
    if (!ready || inFlight || !outbox.length || Date.now() < retryAt) return;
    var next = outbox[0];
    inFlight = next.cid;
    var frame = { t: "msg", cid: next.cid, text: next.text, files: next.files || [] };
    if (!known && views.length) frame.views = views;
    send_(frame);
  }

  function flushViews() {
    if (!cfg.pageEvents) return;
    views.forEach(function (v) { send_({ t: "page", vid: v.vid, url: v.url, title: v.title, referrer: v.referrer,
      at: v.at }); });
    views = [];
    store.set("views", views);
  }

  function viewed(p) {
    page = p;
    if (!cfg.pageEvents || !p.url) return;
    var view = { vid: randomId(), url: p.url, title: p.title, referrer: p.referrer, at: new Date().toISOString() };
    if (known && ready) {
      send_({ t: "page", vid: view.vid, url: view.url, title: view.title, referrer: view.referrer, at: view.at });
      return;
    }
    views.push(view);
    views = views.slice(-20);
    store.set("views", views);
  }

  // --- what the visitor does -------------------------------------------------------------------------------
  function write(text, files, shownFiles) {
    var cid = randomId();
    var view = bubble("mine", T.you, text);
    view.node.className = "tb-msg tb-mine tb-pending";
    view.meta = el("span", "tb-meta", T.pending);
    view.node.appendChild(view.meta);
    (shownFiles || []).forEach(function (f) { showFile(view.body, f); });
    mine[cid] = view;
    log.appendChild(view.node);
    scroll();
    outbox.push({ cid: cid, text: text, files: files || [] });
    store.set("outbox", outbox);
    if (!ready) say(T.offline, true);
    flush();
  }

  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || blocked) return;
    if (text.length > cfg.maxText) {
      say(fill(T.too_long, { limit: cfg.maxText }));
      return;
    }
    input.value = "";
    grow();
    write(text);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      compose.requestSubmit ? compose.requestSubmit() : send.click();
    }
  });

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(140, input.scrollHeight + 2) + "px";
  }
  input.addEventListener("input", grow);

  attach.addEventListener("click", function () { picker.click(); });
  picker.addEventListener("change", function () {
    Array.prototype.forEach.call(picker.files, upload);
    picker.value = "";
  });

  function upload(file) {
    if (file.size > cfg.maxFile) {
      say(fill(T.too_big, { name: file.name, size: bytes(cfg.maxFile) }));
      return;
    }
    var auth = sessionToken || token;
    fetch("/website/upload?name=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: { "Authorization": "Bearer " + auth, "Content-Type": file.type || "application/octet-stream" },
      body: file
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      if (!answer.ok) {
        if (answer.data.error === "too_big") say(fill(T.too_big, { name: file.name, size: bytes(cfg.maxFile) }));
        else if (answer.data.error === "rate_limited") say(fill(T.rate_limited, { seconds: answer.data.retry_after }));
        else say(T.upload_failed);
        return;
      }
      write("", [answer.data.key], [answer.data]);
    }).catch(function () { say(T.upload_failed); });
  }

  emailForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var email = emailInput.value.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]{2,}$/.test(email)) {
      say(T.email_invalid);
      return;
    }
    send_({ t: "email", email: email });
  });

  function emailSaved(email) {
    store.set("email", email);
    away.hidden = true;
    say(fill(T.email_saved, { email: email }));
  }

  function open() {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    badge.hidden = true;
    launcher.setAttribute("aria-label", T.open);
    tellPage({ type: "size", state: "open" });
    scroll();
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    tellPage({ type: "size", state: "closed" });
    launcher.focus();
  }

  launcher.addEventListener("click", open);
  closer.addEventListener("click", close);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) close();
  });
  window.addEventListener("online", function () { backoff = 1000; connect(); });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && ready) send_({ t: "sync" });
  });

  // --- the page that embeds us -------------------------------------------------------------------------------
  var embedded = window.parent !== window;
  function tellPage(message) {
    if (embedded) window.parent.postMessage(message, cfg.origin);
  }

  window.addEventListener("message", function (event) {
    if (!embedded || event.source !== window.parent || event.origin !== cfg.origin || !event.data) return;
    var m = event.data;
    if (m.type === "init") {
      user = m.user && m.user.id && m.user.hash ? m.user : null;
      if (m.page) viewed(m.page);
      connect();
    } else if (m.type === "page" && m.page) {
      viewed(m.page);
    } else if (m.type === "layout") {
      body.className = "tb-" + position + (m.phone ? " tb-phone" : "");
    }
  });

  if (embedded) tellPage({ type: "ready" });
  else connect();
})();
