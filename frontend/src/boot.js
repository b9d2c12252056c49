// Inlined at the top of <head> by build/boot.ts (never loaded as a file): starts what the first
// screen needs while the app's modules are still downloading. Keep in sync with
// src/lib/early-session.ts.
(function () {
  var path = location.pathname;
  // 1. The session: src/lib/early-session.ts hands this promise to the first /api/auth/me query.
  if (!/^\/login\/?$/.test(path) && window.fetch) {
    window.__maestroSessionAt = Date.now();
    window.__maestroSession = fetch("/api/auth/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
    // an unused or failed request must not surface as an unhandled rejection
    window.__maestroSession.catch(function () {});
  }
  // 2. The route's code: build/boot.ts writes each route's chunks in here as
  //    {f: [file, ...], r: [[path pattern, [index into f, ...]], ...]}.
  try {
    var table = __MAESTRO_ROUTES__;
    var files = table.f;
    var routes = table.r;
    for (var i = 0; i < routes.length; i++) {
      if (new RegExp(routes[i][0]).test(path)) {
        for (var j = 0; j < routes[i][1].length; j++) {
          var link = document.createElement("link");
          link.rel = "modulepreload";
          link.href = files[routes[i][1][j]];
          document.head.appendChild(link);
        }
        break;
      }
    }
  } catch (e) {
    /* preloading is only a head start: the router loads the same chunks anyway */
  }
})();
