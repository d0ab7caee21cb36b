export { Postgres, type PostgresArgs, type PostgresRole } from "./postgres";
export { PLATFORM_DATABASES, restoreCommand, SERVICE_DATABASES } from "./plan";
