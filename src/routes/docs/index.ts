import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** Swagger UI version the docs page loads; pinned so the page does not change under us. */
const SWAGGER_UI_VERSION = '5.17.14'

/**
 * The docs page: a few hundred bytes of HTML that load Swagger UI from a CDN in the reader's
 * browser and point it at /openapi.json. Nothing of the UI is bundled, so it costs the Lambda
 * cold start nothing.
 */
const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>paylith API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@${SWAGGER_UI_VERSION}/swagger-ui.css" crossorigin="anonymous">
</head>
<body>
<div id="docs"></div>
<script src="https://unpkg.com/swagger-ui-dist@${SWAGGER_UI_VERSION}/swagger-ui-bundle.js" crossorigin="anonymous"></script>
<script>window.onload = () => { window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#docs' }) }</script>
</body>
</html>
`

/** `GET /openapi.json` (the OpenAPI 3 document generated from the route schemas) and `GET /docs`. */
export const docsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/openapi.json', {
    config: { auth: 'public' },
    schema: { hide: true }
  }, async () => app.swagger())

  app.get('/docs', {
    config: { auth: 'public' },
    schema: { hide: true }
  }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(DOCS_HTML))
}
