// The live room in the browser: count-downs that tick locally, a tablet's own place in the
// shared queue, large text, and quick reconnection. Everything else is htmx and hx-ws.
(function () {
  "use strict";

  // Back in step within seconds of a server restart: retry quickly, never give up.
  // 4000: the heartbeat check below found the connection dead; hx-ws opens a new one, as for any lost one.
  var STALE = 4000;
  if (window.htmx) {
    htmx.config.ws = Object.assign(htmx.config.ws || {}, {
      reconnectDelay: 300, reconnectMaxDelay: 2000,
      reconnectCodes: [1001, 1005, 1006, 1011, 1012, 1013, 1014, STALE]});
    // htmx starts on a timer set when its deferred script runs; if hx-ws.min.js arrives after that
    // timer fired, htmx has processed the page without the extension and the page never connects.
    // Processing the connecting element again connects it then, and is harmless otherwise (hx-ws
    // sets an element up once). This script runs after hx-ws.min.js: both are deferred, in order.
    document.querySelectorAll("[hx-ws\\:connect]").forEach(function (el) { htmx.process(el); });
  }

  var LARGE = "forum-room-large";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      // The server's clock at render time tells how far this device's clock is off.
      if (el._skew === undefined) el._skew = now - Number(el.dataset.serverNow || now);
      var left = Math.round((Number(el.dataset.deadline) - (now - el._skew)) / 1000);
      var abs = Math.abs(left);
      el.textContent = (left < 0 ? "-" : "") + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
      el.classList.toggle("overrun", left < 0);
    });
  }

  function mine() {
    var meta = document.querySelector('meta[name="room-attendance"]');
    if (!meta) return;
    var id = meta.content;
    var state = null, place = 0;
    document.querySelectorAll("#room-queue [data-attendance]").forEach(function (el) {
      var me = el.dataset.attendance === id;
      el.classList.toggle("mine", me);
      if (el.dataset.state === "waiting") place += 1;
      if (me) state = {kind: el.dataset.state, place: place};
    });
    var text = document.querySelector("[data-my-place]");
    if (text) {
      text.textContent = !state ? "" : state.kind === "speaking" ? text.dataset.textSpeaking
        : text.dataset.textWaiting.replace("{n}", state.place);
    }
    var up = document.querySelector('[data-hand="up"]'), down = document.querySelector('[data-hand="down"]');
    if (up) up.hidden = !!state;
    if (down) down.hidden = !state || state.kind === "speaking";
  }

  function refresh() { tick(); mine(); }

  function setLarge(on) {
    document.documentElement.classList.toggle("room-large", on);
    document.querySelectorAll("[data-large-text]").forEach(function (b) { b.setAttribute("aria-pressed", on); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setLarge(localStorage.getItem(LARGE) === "1");
    document.querySelectorAll("[data-large-text]").forEach(function (b) {
      b.addEventListener("click", function () {
        var on = !document.documentElement.classList.contains("room-large");
        localStorage.setItem(LARGE, on ? "1" : "0");
        setLarge(on);
      });
    });
    refresh();
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:after:swap", refresh);
  document.addEventListener("htmx:ws:after:message:incoming", refresh);
  // "Live" while the socket is open; a notice while it is down, so nobody trusts a stale screen.
  function connected(on) {
    document.querySelectorAll("[data-room-link]").forEach(function (el) { el.hidden = !on; });
    document.querySelectorAll("[data-room-offline]").forEach(function (el) { el.hidden = on; });
  }
  document.addEventListener("htmx:ws:after:connection", function () { connected(true); });
  // A console tells each new connection its page's name, and its actions say that name and how
  // many of the connection's messages the page has swapped in: the hub then leaves it out of the
  // push of what it changed itself, the action's reply having brought those parts, as long as no
  // message sent to it earlier could still land after the reply.
  function introduce(el, fresh) {
    var connection = el._htmx && el._htmx.ws && el._htmx.ws.connection;
    var socket = connection && connection.socket;
    if (el.dataset.page && socket && socket.readyState === WebSocket.OPEN) {
      el._swapped = fresh ? 0 : null;  // connected before this script ran: how many is not known
      socket.send(JSON.stringify({page: el.dataset.page}));
    }
  }
  document.addEventListener("htmx:ws:after:connection", function (evt) { introduce(evt.target, true); });
  document.querySelectorAll("[data-page]").forEach(function (el) { introduce(el, false); });
  document.addEventListener("htmx:ws:after:message:incoming", function (evt) {
    var beat = evt.detail && evt.detail.message && evt.detail.message.data === '{"beat":1}';
    if (typeof evt.target._swapped === "number" && !beat) evt.target._swapped += 1;
  });
  document.addEventListener("htmx:config:request", function (evt) {
    var page = evt.target.closest && evt.target.closest("[data-page]");
    if (page && typeof page._swapped === "number") {
      evt.detail.ctx.request.headers["X-Room-Page"] = page.dataset.page + " " + page._swapped;
    }
  });
  document.addEventListener("htmx:ws:close", function (evt) {
    if (evt.detail && evt.detail.reason === "removed") return;  // the page is going away
    connected(false);
  });
  // A link can die without a word (the wifi drops, the access point forgets the tablet): no close
  // ever comes, and the page would go on showing a stale room as live. The server says something
  // at least every beat (data-heartbeat seconds); after two beats of silence the page says it is
  // offline and starts the connection again.
  var heard = Date.now();
  document.addEventListener("htmx:ws:after:message:incoming", function () { heard = Date.now(); });
  document.addEventListener("htmx:ws:after:connection", function () { heard = Date.now(); });
  setInterval(function () {
    var room = document.querySelector("[data-heartbeat]");
    if (!room || Date.now() - heard < 2000 * Number(room.dataset.heartbeat) + 1000) return;
    connected(false);
    heard = Date.now();  // give the new connection its two beats
    var connection = room._htmx && room._htmx.ws && room._htmx.ws.connection;
    var socket = connection && connection.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      // hx-ws opens a new connection when its socket closes; a real close would wait for a
      // closing handshake that a dead link never answers (up to a minute), so tell it now.
      socket.dispatchEvent(new CloseEvent("close", {code: STALE, reason: "silent"}));
    }
  }, 1000);
  // A sent comment empties its box and says so.
  document.addEventListener("htmx:after:request", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-reset]");
    if (!form) return;
    form.reset();
    var sent = form.querySelector("[data-sent]");
    if (sent) { sent.hidden = false; setTimeout(function () { sent.hidden = true; }, 3000); }
  });
})();
