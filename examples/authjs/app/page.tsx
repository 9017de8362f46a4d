// The home page: who is signed in, with a button to sign in or out. Server actions call
// Auth.js, so the page works without client-side JavaScript.
import { auth, signIn, signOut } from '@/auth';

export default async function Home() {
  const session = await auth();
  const user = session?.user;

  if (!user) {
    return (
      <main>
        <h1>Not signed in</h1>
        <form
          action={async () => {
            'use server';
            await signIn('logto');
          }}
        >
          <button type="submit">Sign in with sesame</button>
        </form>
      </main>
    );
  }

  return (
    <main>
      <h1>Signed in</h1>
      {user.image ? <img src={user.image} alt="" width={64} height={64} /> : null}
      <dl>
        <dt>Name</dt>
        <dd>{user.name ?? '(none)'}</dd>
        <dt>Email</dt>
        <dd>{user.email ?? '(none)'}</dd>
      </dl>
      <form
        action={async () => {
          'use server';
          await signOut();
        }}
      >
        <button type="submit">Sign out</button>
      </form>
    </main>
  );
}
