import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { requireAdmin } from './auth';
import { deliveriesAdmin } from './deliveries';
import { endpointsAdmin } from './endpoints';
import { secretsAdmin } from './secrets';
import { customerKeysAdmin } from './customer-keys';
import { describePresets } from '../presets';
import { previewAdmin } from './preview';
import openapi from './openapi.json';

/** The admin API: everything under `/admin`, bearer-token only. */
export const admin = new Hono<AppEnv>();
admin.use('*', requireAdmin);
admin.route('/endpoints', endpointsAdmin);
admin.route('/deliveries', deliveriesAdmin);
admin.route('/secrets', secretsAdmin);
admin.route('/customer-keys', customerKeysAdmin);
admin.route('/preview', previewAdmin);
admin.get('/openapi.json', (c) => c.json(openapi));
admin.get('/presets', (c) => c.json({ presets: describePresets() }));
