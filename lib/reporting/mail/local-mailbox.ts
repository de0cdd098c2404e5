// A mail sender that keeps what it is given: the local runner's default when no SES endpoint is configured.
import type { MailSender, OutgoingMail } from './sender';

export class LocalMailbox implements MailSender {
  readonly mails: OutgoingMail[] = [];

  send(mail: OutgoingMail): Promise<{ messageId: string }> {
    this.mails.push(mail);
    return Promise.resolve({ messageId: `captured-locally-${this.mails.length}` });
  }
}
