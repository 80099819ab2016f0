// Where e-mails go: an SMTP server through nodemailer, or the log when none is configured.
import nodemailer from 'nodemailer';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): Promise<void>;
}

export function smtpMailer(url: string, from: string, timeoutMs: number): Mailer {
  const transport = nodemailer.createTransport({
    url,
    pool: true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    async send(mail) {
      await transport.sendMail({ from, ...mail });
    },
    async close() {
      transport.close();
    },
  };
}

/** The local default: says what it would have sent. */
export function logMailer(log: { info(obj: object, msg: string): void }, from: string): Mailer {
  return {
    async send(mail) {
      log.info({ mail: { from, ...mail } }, `e-mail not sent (SMTP_URL unset): ${mail.subject}`);
    },
    async close() {},
  };
}
