import { z } from 'zod';

/** `/healthz` and `/readyz` when all is well (a 503 with the error envelope otherwise). */
export const healthAnswerSchema = z.object({ ok: z.literal(true) });
export type HealthAnswer = z.output<typeof healthAnswerSchema>;
