// AI Skin Doctor's service worker (served as /sw.js, its version and file list filled in by the server).
// On install it keeps every file the page needs to run on this device — the pages, scripts, message tables,
// settings, the model and the in-browser runtime — so the installed page starts and works with no network.
// Pages and tables are asked of the network first (an update shows when online) and come from the cache when
// the server cannot be reached; model and runtime files never change under their URL, so the cache answers them.
"use strict";

const VERSION = "__VERSION__";
const ASSETS = __ASSETS__;
const CACHE = `skindoctor-${VERSION}`;
const NETWORK_WAIT_MS = 4000;  // a network slower than this is treated as none

const immutable = (url) => url.pathname.startsWith("/static/vendor/") || url.pathname.startsWith("/api/v1/ondevice/files/");

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("skindoctor-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function fromNetwork(request) {
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("network too slow")), NETWORK_WAIT_MS));
  const response = await Promise.race([fetch(request), timeout]);
  const url = new URL(request.url);
  if (response.ok && ASSETS.includes(url.pathname + url.search)) {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

async function answer(request) {
  const url = new URL(request.url);
  if (immutable(url)) {
    const kept = await caches.match(request);
    if (kept) return kept;
  }
  try {
    return await fromNetwork(request);
  } catch (err) {  // the server is unreachable: what was kept ("/?lang=ko" is the page "/")
    const kept = await caches.match(request) || await caches.match(request, { ignoreSearch: true });
    if (kept) return kept;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith(answer(event.request));
});
