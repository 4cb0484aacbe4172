// Swagger UI started from a file of this origin (the Content-Security-Policy forbids inline
// scripts); the spec URL and config come from the container's data attributes.
(function () {
  var container = document.getElementById("swagger-ui-container");
  var config = JSON.parse(container.getAttribute("data-config") || "{}");
  config.url = container.getAttribute("data-spec-url");
  config.dom_id = "#swagger-ui-container";
  window.ui = SwaggerUIBundle(config);
})();
