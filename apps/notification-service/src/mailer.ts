// Where e-mails go: an SMTP server through nodemailer, or the log when none is configured.
import nodemailer from 'nodemailer';
import type { Config } from './config.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): Promise<void>;
}

interface InfoLog {
  info(obj: object, msg: string): void;
}

/** The mailer the configuration names: SMTP when SMTP_URL is set, otherwise the log. */
export function createMailer(
  config: Pick<Config, 'SMTP_URL' | 'MAIL_FROM' | 'SMTP_TIMEOUT_MS'>,
  log: InfoLog,
): Mailer {
  return config.SMTP_URL
    ? smtpMailer(config.SMTP_URL, config.MAIL_FROM, config.SMTP_TIMEOUT_MS)
    : logMailer(log, config.MAIL_FROM);
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
export function logMailer(log: InfoLog, from: string): Mailer {
  return {
    async send(mail) {
      log.info({ mail: { from, ...mail } }, `e-mail not sent (SMTP_URL unset): ${mail.subject}`);
    },
    async close() {},
  };
}
