// The relying-party side of the two Auth.js configurations Logto documents, run against sesame
// with the libraries they use underneath:
//
//   nextauth-v4  openid-client v5 (Next Auth v4): discovery from the well-known URL, a client with
//                id_token_signed_response_alg ES384, PKCE + state, client_secret_basic, ID token
//                validated by the library (signature via JWKS, iss, aud, exp, iat, RFC 9207 iss).
//   authjs-v5    oauth4webapi v3 (Auth.js v5 / next-auth@beta): discovery from the issuer, PKCE
//                (no state, no nonce), client_secret_basic, ID token claims validated by the
//                library and its ES384 signature checked against the JWKS.
//
// The browser part (sesame's pages, the mailed code) is played by the Rust test that starts
// this script (tests/js_clients.rs). They talk in lines:
//
//   this script → stdout: AUTH_URL <authorization URL>
//   stdin → this script:  <the callback URL sesame redirected the browser to>
//   this script → stdout: RESULT <JSON: sub, email, alg, refreshed, userinfo_email>
//                     or: ERROR <message>   (and exit code 1)
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI; SCOPE (optional, default below).
// Mode `machine` (a machine app: client credentials and introspection) needs no browser and no
// REDIRECT_URI, and prints RESULT at once.
// The RESULT also carries every ID token claim (`claims`), for the custom claims `sesame dev`
// puts in them.

import { createInterface } from 'node:readline';

const SCOPE = process.env.SCOPE || 'openid offline_access profile email';
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function readCallback() {
  const next = await lines.next();
  if (next.done) throw new Error('stdin closed before the callback URL arrived');
  return next.value.trim();
}

function jwtHeader(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
}

async function nextAuthV4() {
  const { Issuer, generators } = await import('openid-client');
  const issuer = await Issuer.discover(`${env('ISSUER')}/.well-known/openid-configuration`);
  if (issuer.metadata.issuer !== env('ISSUER')) {
    throw new Error(`discovery issuer ${issuer.metadata.issuer} != ${env('ISSUER')}`);
  }
  const client = new issuer.Client({
    client_id: env('CLIENT_ID'),
    client_secret: env('CLIENT_SECRET'),
    redirect_uris: [env('REDIRECT_URI')],
    response_types: ['code'],
    id_token_signed_response_alg: 'ES384',
  });
  const state = generators.state();
  const codeVerifier = generators.codeVerifier();
  const url = client.authorizationUrl({
    scope: SCOPE,
    state,
    code_challenge: generators.codeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  console.log(`AUTH_URL ${url}`);

  const callback = await readCallback();
  const params = client.callbackParams(callback);
  // Validates state, the RFC 9207 iss parameter, and the ID token (ES384 signature via the
  // JWKS, iss, aud, exp, iat).
  const tokens = await client.callback(env('REDIRECT_URI'), params, {
    state,
    code_verifier: codeVerifier,
  });
  const claims = tokens.claims();
  const userinfo = await client.userinfo(tokens.access_token);
  if (userinfo.sub !== claims.sub) throw new Error('userinfo sub differs from the ID token');
  const refreshed = await client.refresh(tokens.refresh_token);
  if (!refreshed.access_token || refreshed.refresh_token === tokens.refresh_token) {
    throw new Error('refresh did not rotate the refresh token');
  }
  return {
    sub: claims.sub,
    email: claims.email ?? null,
    alg: jwtHeader(tokens.id_token).alg,
    refreshed: true,
    userinfo_email: userinfo.email ?? null,
    claims,
  };
}

async function authJsV5() {
  const oauth = await import('oauth4webapi');
  const issuerUrl = new URL(env('ISSUER'));
  // sesame in the tests runs on http://127.0.0.1; Auth.js allows that in development too.
  const insecure = { [oauth.allowInsecureRequests]: true };
  const as = await oauth.processDiscoveryResponse(
    issuerUrl,
    await oauth.discoveryRequest(issuerUrl, { ...insecure, algorithm: 'oidc' }),
  );
  const client = { client_id: env('CLIENT_ID') };
  const clientAuth = oauth.ClientSecretBasic(env('CLIENT_SECRET'));
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', env('REDIRECT_URI'));
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', SCOPE);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  console.log(`AUTH_URL ${url}`);

  const callback = new URL(await readCallback());
  // Checks the iss parameter against the discovered issuer and that no state came back.
  const params = oauth.validateAuthResponse(as, client, callback, oauth.expectNoState);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    clientAuth,
    params,
    env('REDIRECT_URI'),
    codeVerifier,
    insecure,
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: oauth.expectNoNonce,
    requireIdToken: true,
  });
  // oauth4webapi trusts TLS for the token response; check the signature anyway (ES384, JWKS).
  await oauth.validateApplicationLevelSignature(as, response, insecure);
  const claims = oauth.getValidatedIdTokenClaims(result);
  const userinfo = await oauth.processUserInfoResponse(
    as,
    client,
    claims.sub,
    await oauth.userInfoRequest(as, client, result.access_token, insecure),
  );
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, clientAuth, result.refresh_token, insecure),
  );
  if (!refreshed.access_token || refreshed.refresh_token === result.refresh_token) {
    throw new Error('refresh did not rotate the refresh token');
  }
  return {
    sub: claims.sub,
    email: claims.email ?? null,
    alg: jwtHeader(result.id_token).alg,
    refreshed: true,
    userinfo_email: userinfo.email ?? null,
    claims,
  };
}

// A machine app with oauth4webapi (issue 12): client credentials, then introspection of the
// token it got, of a token that does not exist, and with a wrong secret. No browser: the
// script prints RESULT at once.
async function machine() {
  const oauth = await import('oauth4webapi');
  const issuerUrl = new URL(env('ISSUER'));
  const insecure = { [oauth.allowInsecureRequests]: true };
  const as = await oauth.processDiscoveryResponse(
    issuerUrl,
    await oauth.discoveryRequest(issuerUrl, { ...insecure, algorithm: 'oidc' }),
  );
  const client = { client_id: env('CLIENT_ID') };
  const clientAuth = oauth.ClientSecretBasic(env('CLIENT_SECRET'));
  const tokens = await oauth.processClientCredentialsResponse(
    as,
    client,
    await oauth.clientCredentialsGrantRequest(as, client, clientAuth, {}, insecure),
  );
  const introspect = async (auth, token) =>
    oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, token, insecure),
    );
  let wrongSecret = null;
  try {
    await introspect(oauth.ClientSecretBasic('wrong'), tokens.access_token);
  } catch (error) {
    // A 401 with WWW-Authenticate: oauth4webapi throws its challenge error, with the response.
    const body = await error?.response?.json?.().catch(() => null);
    wrongSecret = { code: error?.code ?? null, status: error?.status ?? null, error: body?.error ?? null };
  }
  return {
    token_type: tokens.token_type,
    refresh_token: tokens.refresh_token ?? null,
    id_token: tokens.id_token ?? null,
    introspection: await introspect(clientAuth, tokens.access_token),
    unknown: await introspect(clientAuth, 'not-a-token'),
    wrong_secret: wrongSecret,
  };
}

async function discovered() {
  const oauth = await import('oauth4webapi');
  const issuerUrl = new URL(env('ISSUER'));
  const insecure = { [oauth.allowInsecureRequests]: true };
  const as = await oauth.processDiscoveryResponse(
    issuerUrl,
    await oauth.discoveryRequest(issuerUrl, { ...insecure, algorithm: 'oidc' }),
  );
  return { oauth, as, insecure };
}

// The OAuth error a refused request came back with (oauth4webapi throws it).
async function refusal(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return { error: error?.error ?? error?.code ?? String(error), status: error?.status ?? null };
  }
}

const sleep = (secs) => new Promise((resolve) => setTimeout(resolve, secs * 1000));

// Device flow (RFC 8628) with oauth4webapi, as a CLI or a TV would run it:
//   this script → stdout: DEVICE <verification_uri_complete>   (after a pending poll and a
//                         too-early poll that got slow_down)
//   stdin → this script:  any line, once the person approved on the device page
//   this script → stdout: RESULT <JSON>
// The client waits the interval it was told (grown by slow_down) before polling again. A
// public client (CLIENT_SECRET empty) authenticates with client_id only.
async function device() {
  const { oauth, as, insecure } = await discovered();
  const client = { client_id: env('CLIENT_ID') };
  const clientAuth = process.env.CLIENT_SECRET
    ? oauth.ClientSecretBasic(process.env.CLIENT_SECRET)
    : oauth.None();
  const wrongClient = await refusal(
    oauth.processDeviceAuthorizationResponse(
      as,
      { client_id: 'no-such-app' },
      await oauth.deviceAuthorizationRequest(as, { client_id: 'no-such-app' }, oauth.None(), { scope: SCOPE }, insecure),
    ),
  );
  const started = await oauth.processDeviceAuthorizationResponse(
    as,
    client,
    await oauth.deviceAuthorizationRequest(as, client, clientAuth, { scope: SCOPE }, insecure),
  );
  const poll = async () =>
    oauth.processDeviceCodeResponse(
      as,
      client,
      await oauth.deviceCodeGrantRequest(as, client, clientAuth, started.device_code, insecure),
    );
  const pending = await refusal(poll());
  // Too early on purpose: sesame answers slow_down and the interval grows by 5 s.
  const slowDown = await refusal(poll());
  const interval = started.interval + 5;
  console.log(`DEVICE ${started.verification_uri_complete}`);
  await readCallback();
  // Honour the grown interval, as RFC 8628 §3.5 asks.
  await sleep(interval);
  const tokens = await poll();
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  await sleep(interval);
  const reused = await refusal(poll());
  return {
    user_code: started.user_code,
    verification_uri: started.verification_uri,
    expires_in: started.expires_in,
    interval: started.interval,
    wrong_client: wrongClient,
    pending,
    slow_down: slowDown,
    sub: claims.sub,
    email: claims.email ?? null,
    aud: claims.aud,
    access_token: tokens.access_token ? true : false,
    refresh_token: tokens.refresh_token ? true : false,
    reused,
  };
}

// Pushed authorization requests (RFC 9126) with oauth4webapi: the request goes to /par, the
// browser gets only client_id and request_uri (AUTH_URL), the code is exchanged as usual.
// Also pushes a request with an unregistered redirect URI (refused as /auth would).
async function par() {
  const { oauth, as, insecure } = await discovered();
  const client = { client_id: env('CLIENT_ID') };
  const clientAuth = oauth.ClientSecretBasic(env('CLIENT_SECRET'));
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const params = {
    redirect_uri: env('REDIRECT_URI'),
    response_type: 'code',
    scope: SCOPE,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  };
  const badRedirect = await refusal(
    oauth.processPushedAuthorizationResponse(
      as,
      client,
      await oauth.pushedAuthorizationRequest(as, client, clientAuth, { ...params, redirect_uri: 'https://evil.example/cb' }, insecure),
    ),
  );
  const pushed = await oauth.processPushedAuthorizationResponse(
    as,
    client,
    await oauth.pushedAuthorizationRequest(as, client, clientAuth, params, insecure),
  );
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('request_uri', pushed.request_uri);
  console.log(`AUTH_URL ${url}`);
  const callback = new URL(await readCallback());
  const validated = oauth.validateAuthResponse(as, client, callback, oauth.expectNoState);
  const result = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, clientAuth, validated, env('REDIRECT_URI'), codeVerifier, insecure),
    { expectedNonce: oauth.expectNoNonce, requireIdToken: true },
  );
  const claims = oauth.getValidatedIdTokenClaims(result);
  return {
    request_uri: pushed.request_uri,
    expires_in: pushed.expires_in,
    bad_redirect: badRedirect,
    email: claims.email ?? null,
    require_par: as.require_pushed_authorization_requests ?? null,
  };
}

const modes = { 'nextauth-v4': nextAuthV4, 'authjs-v5': authJsV5, machine, device, par };
const mode = process.argv[2];
try {
  if (!modes[mode]) throw new Error(`usage: node run.mjs ${Object.keys(modes).join('|')}`);
  const result = await modes[mode]();
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
} catch (error) {
  const detail = error?.cause ? ` (cause: ${error.cause?.message ?? JSON.stringify(error.cause)})` : '';
  console.log(`ERROR ${error?.code ?? ''} ${error?.message ?? error}${detail}`.replace(/\n/g, ' '));
  process.exit(1);
}
