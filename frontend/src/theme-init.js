// Classic (render-blocking) script: sets the theme class before first paint.
// Keep in sync with src/lib/theme.ts (same storage key and values).
(function () {
  try {
    var stored = localStorage.getItem("maestro-theme");
    var dark =
      stored === "dark" || (stored !== "light" && window.matchMedia("(prefers-color-scheme: dark)").matches);
    document.documentElement.classList.toggle("dark", dark);
    document.documentElement.style.colorScheme = dark ? "dark" : "light";
  } catch (e) {
    /* storage unavailable: keep the light default */
  }
})();
