// Voice resources: phones, voice and messaging agents, scheduled calls, call and message logs,
// analytics. Each folder is one resource (routes → service → repository).
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { agentRoutes } from './agents/agent.routes.ts';
import { createAgentService } from './agents/agent.service.ts';
import { analyticsRoutes } from './analytics/analytics.routes.ts';
import { createAnalyticsService } from './analytics/analytics.service.ts';
import { callRoutes } from './calls/call.routes.ts';
import { createCallService } from './calls/call.service.ts';
import { messageAgentRoutes } from './message-agents/message-agent.routes.ts';
import { createMessageAgentService } from './message-agents/message-agent.service.ts';
import { messageRoutes } from './messages/message.routes.ts';
import { createMessageService } from './messages/message.service.ts';
import { phoneRoutes } from './phones/phone.routes.ts';
import { createPhoneAssignment, createPhoneService } from './phones/phone.service.ts';
import { scheduledCallRoutes } from './scheduled-calls/scheduled-call.routes.ts';
import { createScheduledCallService } from './scheduled-calls/scheduled-call.service.ts';

export const voiceRoutes: FastifyPluginAsync<{
  database: Database;
  config: Readonly<Config>;
}> = async (app, { database, config }) => {
  await app.register(phoneRoutes, {
    phones: createPhoneService(database, config),
    assign: createPhoneAssignment(database),
  });
  await app.register(agentRoutes, { agents: createAgentService(database, config) });
  await app.register(messageAgentRoutes, {
    messageAgents: createMessageAgentService(database),
  });
  await app.register(scheduledCallRoutes, {
    scheduledCalls: createScheduledCallService(database, config),
  });
  await app.register(callRoutes, { calls: createCallService(database) });
  await app.register(messageRoutes, { messages: createMessageService(database) });
  await app.register(analyticsRoutes, { analytics: createAnalyticsService(database) });
};
