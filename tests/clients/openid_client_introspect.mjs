// openid-client 6, with its defaults: discovery(), then tokenIntrospection().
// Usage: node openid_client_introspect.mjs ISSUER CLIENT_ID CLIENT_SECRET TOKEN...
import * as client from "openid-client";

const [issuer, clientId, clientSecret, ...tokens] = process.argv.slice(2);
const config = await client.discovery(new URL(issuer), clientId, clientSecret);
const answers = [];
for (const token of tokens) {
  answers.push(await client.tokenIntrospection(config, token));
}
console.log(JSON.stringify({ issuer: config.serverMetadata().issuer, answers }));
