/** The shape of one schema migration (see migrations.ts for how they run). */
export interface MigrationContext {
  timescale: boolean;
}

export interface Migration {
  version: number;
  name: string;
  statements(ctx: MigrationContext): string[];
}
