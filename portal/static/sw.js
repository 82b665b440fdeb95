/* madoguchi service worker: shows Web Push notices.
   Served at /sw.js (scope: the whole site). The payload is JSON from the worker
   (notices/push.py): {title, body, url, tag, lang}. The tag is derived from the delivery
   key, so a notice delivered twice replaces itself instead of showing twice. */
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = {};
  }
  const title = data.title || "お知らせ / Notice";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: data.body || "",
      tag: data.tag || undefined,
      lang: data.lang || "ja",
      data: { url: data.url || "/" },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/",
                         self.location.origin);
  event.waitUntil(self.clients.openWindow(target.href));
});
