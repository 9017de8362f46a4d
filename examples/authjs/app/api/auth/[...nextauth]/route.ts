// Auth.js's routes: /api/auth/signin, /api/auth/callback/logto, /api/auth/signout, ...
import { handlers } from '@/auth';

export const { GET, POST } = handlers;
