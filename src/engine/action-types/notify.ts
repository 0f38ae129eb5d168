import { z } from 'zod';
import { actionType, type Field, MESSAGE_SAFETY, NonEmpty } from '../type-spec.ts';

/** `notify`: a message to `#channel`, `pagerduty:<service>` or `webhook:<name>`. */
export const NotifyConfigSchema = z.strictObject({ channel: NonEmpty, message: z.string().optional() });

export const notify = actionType({
  type: 'notify',
  configSchema: NotifyConfigSchema,
  templateFields(c) {
    const message: Field[] =
      c.message === undefined ? [] : [{ path: ['message'], value: c.message, mode: 'text' }];
    return [{ path: ['channel'], value: c.channel, mode: 'text' }, ...message];
  },
  isIdempotent: () => true,
  safety: MESSAGE_SAFETY,
});
