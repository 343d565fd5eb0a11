/** Problems (failures grouped by the cron, src/watch/problems.ts): listed, acknowledged, resolved. */
import { Hono } from 'hono/tiny';
import * as z from '../shared/zod';
import type { AppEnv } from '../env';
import { EndpointId } from '../endpoints/schema';
import { ApiError } from '../http/errors';
import {
  acknowledgeProblem,
  listProblems,
  PROBLEM_STATES,
  resolveProblem,
  type ProblemChange,
} from '../watch/problems';
import { valid } from './validation';
import { actorOf } from '../shared/roles';

export const problemsAdmin = new Hono<AppEnv>();

export const ProblemQuery = z.strictObject({
  state: z.optional(z.enum(PROBLEM_STATES)),
  endpoint: z.optional(EndpointId),
  limit: z._default(z.coerce.number().check(z.int()).check(z.gte(1)).check(z.lte(200)), 50),
});

problemsAdmin.get('/', valid('query', ProblemQuery), async (c) =>
  c.json({ problems: await listProblems(c.env.DB, c.req.valid('query')) }),
);

const answer = (changed: ProblemChange) => {
  if (!changed.ok) throw new ApiError(404, 'not_found', 'No such problem');
  return changed.problem;
};

problemsAdmin.post('/:id/acknowledge', async (c) =>
  c.json(answer(await acknowledgeProblem(c.env.DB, c.req.param('id'), actorOf(c.get('person')), Date.now()))),
);
/** Resolved: the answer links the replay of its deliveries (`POST /admin/deliveries/replay` with this filter). */
problemsAdmin.post('/:id/resolve', async (c) => {
  const problem = answer(await resolveProblem(c.env.DB, c.req.param('id'), actorOf(c.get('person')), Date.now()));
  return c.json({ ...problem, replay: { endpoint: problem.endpointId, status: problem.status } });
});
