export { FORBIDDEN_PASSWORD_CHARS, htpasswdLine, PASSWORD_SPECIALS, passwordProblem } from "./passwords";
export { type DatabaseCredentials, type DatabaseLogin, LOKI_BASIC_AUTH_USER, PlatformSecrets, type PlatformSecretsArgs } from "./platform-secrets";
export { MANUAL_SECRET_VARIABLES, SECRET_TABLE, type SecretHome, type SecretName, type SecretSpec, secretSpec, tableProblems } from "./table";
