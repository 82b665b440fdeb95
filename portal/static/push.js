/* The Web Push control of the notification settings page (progressive enhancement:
   the page works without it). Registers /sw.js, subscribes this browser with the site's
   VAPID key and saves the subscription through /api/push-subscriptions (session cookie +
   the page's CSRF token). pushManager.subscribe() can hang when the browser's push
   service is unreachable, so it is raced against a timeout. */
"use strict";
(function () {
  const root = document.getElementById("push-control");
  if (!root) return;
  const status = root.querySelector("[data-push-status]");
  const subscribeButton = root.querySelector("[data-push-subscribe]");
  const unsubscribeButton = root.querySelector("[data-push-unsubscribe]");
  const csrfMeta = document.querySelector('meta[name="madoguchi-csrf"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const timeoutMs = Number(root.dataset.timeoutMs || 10000);

  function say(key) {
    status.textContent = root.dataset[key] || "";
    root.dataset.state = key;
  }

  root.hidden = false;
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    subscribeButton.disabled = true;
    unsubscribeButton.disabled = true;
    say("unsupported");
    return;
  }

  const registered = navigator.serviceWorker.register("/sw.js", { scope: "/" });

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Madoguchi-CSRF": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  function withTimeout(promise, ms) {
    return Promise.race([
      promise,
      new Promise((resolve, reject) => setTimeout(() => reject(new Error("timeout")), ms)),
    ]);
  }

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(padded);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  async function save(subscription) {
    const response = await api("POST", "/api/push-subscriptions", subscription);
    say(response.ok ? "on" : "failed");
    return response.status;
  }

  async function subscribe() {
    say("working");
    subscribeButton.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say("denied");
        return;
      }
      const registration = await withTimeout(navigator.serviceWorker.ready, timeoutMs);
      const keyResponse = await fetch("/api/push/vapid-public-key");
      if (!keyResponse.ok) {
        say("failed");
        return;
      }
      const key = (await keyResponse.json()).key;
      let subscription;
      try {
        subscription = await withTimeout(
          registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) }),
          timeoutMs);
      } catch (error) {
        say(error && error.name === "NotAllowedError" ? "denied" : "unreachable");
        return;
      }
      await save(subscription.toJSON());
    } catch (error) {
      say("failed");
    } finally {
      subscribeButton.disabled = false;
    }
  }

  async function unsubscribe() {
    say("working");
    try {
      const registration = await withTimeout(navigator.serviceWorker.ready, timeoutMs);
      const subscription = await registration.pushManager.getSubscription();
      if (subscription) {
        await api("DELETE", "/api/push-subscriptions", { endpoint: subscription.endpoint });
        await subscription.unsubscribe();
      }
      say("off");
    } catch (error) {
      say("failed");
    }
  }

  subscribeButton.addEventListener("click", subscribe);
  unsubscribeButton.addEventListener("click", unsubscribe);
  window.madoguchiPush = { registered: registered, subscribe: subscribe, unsubscribe: unsubscribe, save: save };
})();
