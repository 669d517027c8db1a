// Local test OpenID Provider for the Beacon auth tests (panva/oidc-provider v9). Test use only:
// it has a password grant and /test/* control routes and must never be exposed beyond 127.0.0.1.
//
// Run by hand: PORT=9400 ACCOUNTS_FILE=accounts.example.json node op.mjs (the tests write their own file).
// Env: PORT (required), ACCOUNTS_FILE (accounts.json), AUDIENCE (beacon-test), WEB_REDIRECT_URI (below),
//      CLIENT_ID / CLIENT_SECRET (beacon-test / beacon-secret).
//
// accounts.json is re-read on every use, so a test can add accounts between requests:
//   {"<sub>": {"password": "pw", "email": "...",
//              "visas": [{type, value, source, by?, conditions?, asserted?, exp?, iat?, sub?, iss?}],
//              "presigned_visas": ["<JWS>", ...],      // passed through untouched
//              "embed_passport": true,                  // also put ga4gh_passport_v1 into JWT access tokens
//              "userinfo_delay_ms": 10000,              // make the userinfo endpoint hang for this user
//              "userinfo_padding_bytes": 3000000}}      // make the userinfo response this much larger
//
// Userinfo (/me) accepts opaque access tokens (oidc-provider) and, like LS Login, also the JWT access
// tokens this OP issued (answered here because oidc-provider refuses audience-bound tokens at /me).
//
// Control routes (JSON bodies):
//   POST /test/sign   {key: "op" | "visa" | <kid of a rotated op key>, header: {...}, claims: {...}}
//                     -> {token}: signs arbitrary claims (expired, wrong aud, ...) with a trusted key
//   POST /test/rotate -> {kid}: adds a new op signing key (served at /jwks; usable with /test/sign)
//   POST /test/fail   {jwks: bool, visa_jwks: bool}: make /jwks or /ga4gh/jwks answer 503
import fs from 'node:fs';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

const PORT = Number(process.env.PORT);
const HOST = '127.0.0.1';
const ISSUER = `http://${HOST}:${PORT}`;
const ACCOUNTS_FILE = process.env.ACCOUNTS_FILE || './accounts.json';
const AUDIENCE = process.env.AUDIENCE || 'beacon-test';
const CLIENT_ID = process.env.CLIENT_ID || 'beacon-test';
const CLIENT_SECRET = process.env.CLIENT_SECRET || 'beacon-secret';
const VISA_JKU = `${ISSUER}/ga4gh/jwks`;
const SCOPE = 'openid profile email ga4gh_passport_v1';

const accounts = () => JSON.parse(fs.readFileSync(ACCOUNTS_FILE, 'utf8'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function rsaJwk(kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const priv = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const pub = { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, priv, pub, privateKey };
}
const opKeys = [await rsaJwk('op-key-1')]; // [0] signs id_tokens + JWT access tokens (served at /jwks)
const visaKey = await rsaJwk('visa-key-1'); // signs visas (served at /ga4gh/jwks = the visas' jku)
const failing = { jwks: false, visa_jwks: false };

async function mintVisa(sub, v) {
  const now = Math.floor(Date.now() / 1000);
  const visa = { type: v.type, asserted: v.asserted ?? now - 3600, value: v.value, source: v.source };
  if (v.by) visa.by = v.by;
  if (v.conditions) visa.conditions = v.conditions;
  return new jose.SignJWT({ ga4gh_visa_v1: visa })
    .setProtectedHeader({ alg: 'RS256', typ: 'vnd.ga4gh.visa+jwt', kid: visaKey.kid, jku: VISA_JKU })
    .setIssuer(v.iss ?? ISSUER).setSubject(v.sub ?? sub).setIssuedAt(v.iat ?? now)
    .setExpirationTime(v.exp ?? now + 3600).setJti(crypto.randomUUID())
    .sign(visaKey.privateKey);
}

async function passportFor(sub) {
  const acct = accounts()[sub] || {};
  const minted = await Promise.all((acct.visas || []).map((v) => mintVisa(sub, v)));
  return [...minted, ...(acct.presigned_visas || [])];
}

async function userinfoClaims(sub) {
  const acct = accounts()[sub];
  if (acct.userinfo_delay_ms) await sleep(acct.userinfo_delay_ms);
  const {
    password, visas, presigned_visas, embed_passport, userinfo_delay_ms, userinfo_padding_bytes, ...claims
  } = acct;
  if (userinfo_padding_bytes) claims.padding = 'x'.repeat(userinfo_padding_bytes);
  return { sub, ...claims, ga4gh_passport_v1: await passportFor(sub) };
}

// WEB_REDIRECT_URI: also register the lookup page's client (authorization code flow with PKCE) and the
// provider's development login form (any password: the tests sign in as an account of ACCOUNTS_FILE).
const WEB_REDIRECT_URI = process.env.WEB_REDIRECT_URI;
const webClients = WEB_REDIRECT_URI ? [{
  client_id: 'beacon-web',
  client_secret: 'beacon-web-secret',
  grant_types: ['authorization_code'],
  redirect_uris: [WEB_REDIRECT_URI],
  response_types: ['code'],
  scope: SCOPE,
}] : [];

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials', 'password'],
    redirect_uris: [],
    response_types: [],
    scope: SCOPE,
  }, ...webClients],
  jwks: { keys: [opKeys[0].priv] },
  scopes: SCOPE.split(' '),
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    ga4gh_passport_v1: ['ga4gh_passport_v1'],
  },
  async findAccount(ctx, sub) {
    if (!accounts()[sub]) return undefined;
    return { accountId: sub, claims: () => userinfoClaims(sub) };
  },
  features: {
    devInteractions: { enabled: Boolean(WEB_REDIRECT_URI) },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: SCOPE,
        audience: AUDIENCE,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  async extraTokenClaims(ctx, token) {
    const acct = token.accountId ? accounts()[token.accountId] : undefined;
    if (acct?.embed_passport && token.scope?.split(' ').includes('ga4gh_passport_v1')) {
      return { ga4gh_passport_v1: await passportFor(token.accountId) };
    }
    return undefined;
  },
  ttl: { AccessToken: 3600, ClientCredentials: 600, Grant: 3600 },
};

const provider = new Provider(ISSUER, configuration);

// Test-only Resource Owner Password grant: JWT access token when `resource` is sent, else an opaque one.
provider.registerGrantType('password', async (ctx) => {
  const { client, params } = ctx.oidc;
  const acct = accounts()[params.username];
  if (!acct || acct.password !== params.password) throw new errors.InvalidGrant('invalid username or password');
  const scope = params.scope || 'openid';
  const grant = new provider.Grant({ accountId: params.username, clientId: client.clientId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  const at = new provider.AccessToken({ accountId: params.username, client, grantId, scope, gty: 'password' });
  if (params.resource) {
    at.resourceServer = new provider.ResourceServer(
      params.resource, configuration.features.resourceIndicators.getResourceServerInfo(),
    );
  }
  ctx.body = { access_token: await at.save(), token_type: 'Bearer', expires_in: at.expiration, scope };
}, ['username', 'password', 'scope', 'resource']);

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

function signingKey(name) {
  if (name === 'visa') return visaKey;
  if (!name || name === 'op') return opKeys[0];
  return opKeys.find((k) => k.kid === name);
}

async function signArbitrary({ key, header = {}, claims = {} }) {
  const k = signingKey(key);
  const protectedHeader = { alg: 'RS256', typ: key === 'visa' ? 'vnd.ga4gh.visa+jwt' : 'at+jwt', kid: k.kid, ...header };
  if (key === 'visa' && !('jku' in header)) protectedHeader.jku = VISA_JKU;
  const payload = new TextEncoder().encode(JSON.stringify(claims));
  return new jose.CompactSign(payload).setProtectedHeader(protectedHeader).sign(k.privateKey);
}

async function userinfoForJwt(ctx) {
  const bearer = (ctx.get('authorization') || '').replace(/^Bearer\s+/i, '');
  try {
    const keys = jose.createLocalJWKSet({ keys: opKeys.map((k) => k.pub) });
    const { payload } = await jose.jwtVerify(bearer, keys, { issuer: ISSUER });
    if (!accounts()[payload.sub]) throw new Error('unknown account');
    ctx.body = await userinfoClaims(payload.sub);
  } catch {
    ctx.status = 401;
    ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    ctx.body = { error: 'invalid_token' };
  }
}

const routes = {
  'GET /ga4gh/jwks': async (ctx) => {
    if (failing.visa_jwks) { ctx.status = 503; ctx.body = { error: 'down' }; return; }
    ctx.body = { keys: [visaKey.pub] };
  },
  'GET /jwks': async (ctx) => {
    if (failing.jwks) { ctx.status = 503; ctx.body = { error: 'down' }; return; }
    ctx.body = { keys: opKeys.map((k) => k.pub) };
  },
  'POST /test/sign': async (ctx) => { ctx.body = { token: await signArbitrary(await readJson(ctx.req)) }; },
  'POST /test/rotate': async (ctx) => {
    const key = await rsaJwk(`op-key-${opKeys.length + 1}`);
    opKeys.push(key);
    ctx.body = { kid: key.kid };
  },
  'POST /test/fail': async (ctx) => {
    const body = await readJson(ctx.req);
    failing.jwks = Boolean(body.jwks);
    failing.visa_jwks = Boolean(body.visa_jwks);
    ctx.body = failing;
  },
};

provider.use(async (ctx, next) => {
  const route = routes[`${ctx.method} ${ctx.path}`];
  if (route) return route(ctx);
  const bearer = (ctx.get('authorization') || '').replace(/^Bearer\s+/i, '');
  if (ctx.method === 'GET' && ctx.path === '/me' && bearer.split('.').length === 3) return userinfoForJwt(ctx);
  return next();
});

provider.listen(PORT, HOST, () => console.log(`OP listening on ${ISSUER} (visa jku ${VISA_JKU})`));
