// Sending rendered report mails through Amazon SES (v1 SendEmail: one message, HTML and text parts).
import { SendEmailCommand, SESClient } from '@aws-sdk/client-ses';
import type { Log } from '../../runtime/log';
import type { RenderedMail } from '../report-data';

export interface OutgoingMail extends RenderedMail {
  readonly from: string;
  readonly to: readonly string[];
}

export interface MailSender {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
}

const CHARSET = 'UTF-8';

export class SesMailSender implements MailSender {
  /** Without a client: the Lambda's region and role credentials. */
  constructor(private readonly client: SESClient = new SESClient({})) {}

  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    if (mail.to.length === 0) throw new Error('mail has no recipients');
    const out = await this.client.send(
      new SendEmailCommand({
        Source: mail.from,
        Destination: { ToAddresses: [...mail.to] },
        Message: {
          Subject: { Data: mail.subject, Charset: CHARSET },
          Body: {
            Html: { Data: mail.html, Charset: CHARSET },
            Text: { Data: mail.text, Charset: CHARSET },
          },
        },
      }),
    );
    if (!out.MessageId) throw new Error('SES accepted the mail but returned no MessageId');
    return { messageId: out.MessageId };
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * Send one report; a failure (SES refusal, throttling, no network) is logged and returned, never
 * thrown: the maintenance run it reports on has already happened. The caller counts ReportSendFailed.
 */
export async function sendReport(
  sender: MailSender,
  mail: OutgoingMail,
  log: Log,
): Promise<{ sent: boolean; messageId?: string; error?: string }> {
  try {
    const { messageId } = await sender.send(mail);
    log.info('report mail sent', { subject: mail.subject, to: mail.to, messageId });
    return { sent: true, messageId };
  } catch (err) {
    const error = describeError(err);
    log.error('report mail not sent', { subject: mail.subject, to: mail.to, error });
    return { sent: false, error };
  }
}
