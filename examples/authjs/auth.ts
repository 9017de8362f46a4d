// Auth.js v5 with sesame as the OpenID Connect provider.
//
// The provider id 'logto' makes the callback URL /api/auth/callback/logto, the redirect URI
// registered with `sesame app create`. Auth.js reads sesame's discovery document from the
// issuer, and uses PKCE and state on every sign-in.
import NextAuth from 'next-auth';

export const { handlers, signIn, signOut, auth } = NextAuth({
  providers: [
    {
      id: 'logto',
      name: 'sesame',
      type: 'oidc',
      issuer: process.env.AUTH_SESAME_ISSUER,
      clientId: process.env.AUTH_SESAME_ID,
      clientSecret: process.env.AUTH_SESAME_SECRET,
      authorization: { params: { scope: 'openid offline_access profile email' } },
      profile(profile) {
        return {
          id: profile.sub,
          name: profile.name ?? profile.username,
          email: profile.email,
          image: profile.picture,
        };
      },
    },
  ],
});
