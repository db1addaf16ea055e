/** The HS256 secret every test runtime is started with (and test tokens are signed with). */
export const TEST_JWT_SECRET = 'cascade-client-test-secret-0123456789';
