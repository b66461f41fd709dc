/**
 * Migrations from version 6 on, one entry per feature, in version order; migrations.ts runs them after
 * versions 1–5. Every statement must be safe to run twice (IF NOT EXISTS), as there.
 */
import type { Migration } from './migration-types.ts';

export const LATER_MIGRATIONS: Migration[] = [];
