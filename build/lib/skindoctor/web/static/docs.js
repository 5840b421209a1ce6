// The API docs page: Swagger UI from the installed swagger-ui-bundle package (no CDN, no inline script).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
