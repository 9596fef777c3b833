import t from 'tap'
import { serveDocsAssets, serveLocalServerUrl } from '../../src/local/docs-assets.js'
import { build } from '../helpers/build.js'

t.test('the local server serves Swagger UI itself, so /docs works offline', async (t) => {
  const { app } = await build(t, { bootstrap: false, configure: serveDocsAssets })
  const page = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(page.statusCode, 200)
  t.match(page.body, '<link rel="stylesheet" href="/docs/assets/swagger-ui.css"')
  t.match(page.body, '<script src="/docs/assets/swagger-ui-bundle.js"')
  t.notMatch(page.body, 'https://', 'nothing from the network')

  const css = await app.inject({ method: 'GET', url: '/docs/assets/swagger-ui.css' })
  t.equal(css.statusCode, 200)
  t.match(css.headers['content-type'], /^text\/css/)
  t.match(css.body, '.swagger-ui')
  const js = await app.inject({ method: 'GET', url: '/docs/assets/swagger-ui-bundle.js' })
  t.equal(js.statusCode, 200)
  t.match(js.headers['content-type'], /^text\/javascript/)
  t.match(js.body, 'SwaggerUIBundle')
  t.ok(js.body.length > 100_000)
})

t.test('locally the OpenAPI document names the server once it listens', async (t) => {
  const listening: { url?: string } = {}
  const { app } = await build(t, { bootstrap: false, configure: (app) => { serveLocalServerUrl(app, () => listening.url) } })
  t.same((await app.inject({ method: 'GET', url: '/openapi.json' })).json().servers, [{ url: '/' }], 'before it listens')
  listening.url = 'http://127.0.0.1:4321'
  t.same((await app.inject({ method: 'GET', url: '/openapi.json' })).json().servers, [{ url: 'http://127.0.0.1:4321' }])
  t.equal((await app.inject({ method: 'GET', url: '/health' })).json().status, 'ok', 'other answers are left alone')
})
