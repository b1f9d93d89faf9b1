// CareWeave's page script, served from our origin: the Content-Security-Policy forbids inline script
// and inline event handlers (onclick=...), so every behaviour is bound here.
import { initAll } from "./nhsuk/nhsuk-frontend.min.js"

initAll()

// Print buttons (data-careweave-print).
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-careweave-print]")) {
    window.print()
  }
})

// Printing opens the readings tables, so the printed summary has the figures behind the charts.
window.addEventListener("beforeprint", () => {
  document.querySelectorAll("details.careweave-print-open").forEach((details) => {
    details.open = true
  })
})
