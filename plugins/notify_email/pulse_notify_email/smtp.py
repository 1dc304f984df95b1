"""One SMTP delivery with smtplib, run in a worker thread; the result carries the server's own reply."""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from email import policy
from email.message import EmailMessage

import trio

from pulse_core.model import DeliveryResult

from pulse_notify_email.config import EmailConfig

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20.0


def _reply(code: int, text: bytes | str) -> str:
    decoded = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {decoded}".strip()


def _failure(message: str, code: int | None = None, reply: str = "", *, retryable: bool = True) -> DeliveryResult:
    return DeliveryResult(ok=False, status_code=code, response=reply, error=message, retryable=retryable)


def _tls_context(config: EmailConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=config.ca_file or None)


def send_sync(config: EmailConfig, message: EmailMessage, recipients: list[str], timeout: float = TIMEOUT_SECONDS) -> DeliveryResult:
    """Send ``message`` once, blocking; every failure becomes a ``DeliveryResult`` naming the step."""
    target = f"{config.server}:{config.port}"
    try:
        if config.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(config.server, config.port, timeout=timeout, context=_tls_context(config))
        else:
            client = smtplib.SMTP(config.server, config.port, timeout=timeout)
        with client:
            client.ehlo()
            if config.security == "starttls":
                if not client.has_extn("starttls"):
                    return _failure(
                        f"{target} does not offer STARTTLS; choose security 'tls' for port 465 or 'none' for a local relay",
                        retryable=False,
                    )
                client.starttls(context=_tls_context(config))
                client.ehlo()
            # AUTH only when credentials are configured: a relay on port 25 usually offers none.
            if config.username and config.password:
                if not client.has_extn("auth"):
                    return _failure(
                        f"{target} offers no AUTH (its EHLO reply lists none) but a username and password are set; "
                        "remove them for a relay, or use STARTTLS or TLS if the server only offers AUTH over TLS",
                        retryable=False,
                    )
                client.login(config.username, config.password)
            return _transfer(client, config, message, recipients, target)
    except smtplib.SMTPAuthenticationError as exc:
        reply = _reply(exc.smtp_code, exc.smtp_error)
        return _failure(f"{target} rejected the login: {reply}", exc.smtp_code, reply, retryable=False)
    except smtplib.SMTPResponseException as exc:
        reply = _reply(exc.smtp_code, exc.smtp_error)
        return _failure(f"{target} replied {reply}", exc.smtp_code, reply, retryable=400 <= exc.smtp_code < 500)
    except ssl.SSLCertVerificationError as exc:
        return _failure(
            f"TLS certificate of {target} is not trusted ({exc.verify_message}); set caFile for a private CA",
            retryable=False,
        )
    except ssl.SSLError as exc:
        return _failure(
            f"TLS with {target} failed ({exc.reason or exc}); check that security matches the port "
            "(tls for 465, starttls for 587)",
        )
    except smtplib.SMTPException as exc:
        return _failure(f"SMTP with {target} failed: {exc}")
    except (TimeoutError, socket.timeout):
        return _failure(f"{target} did not answer within {timeout:g} s")
    except OSError as exc:
        return _failure(f"cannot connect to {target}: {exc.strerror or exc}")


def _transfer(client: smtplib.SMTP, config: EmailConfig, message: EmailMessage, recipients: list[str], target: str) -> DeliveryResult:
    code, text = client.mail(config.from_address)
    if code != 250:
        reply = _reply(code, text)
        return _failure(f"{target} rejected the sender {config.from_address}: {reply}", code, reply, retryable=400 <= code < 500)
    refused: dict[str, str] = {}
    for recipient in recipients:
        code, text = client.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = _reply(code, text)
    if len(refused) == len(recipients):
        client.rset()
        first = next(iter(refused.values()))
        code = int(first.split(" ", 1)[0])
        return _failure(f"{target} refused every recipient: {first}", code, first, retryable=400 <= code < 500)
    # smtplib sends bytes as given, so the SMTP policy supplies the CRLF line endings.
    code, text = client.data(message.as_bytes(policy=policy.SMTP))
    reply = _reply(code, text)
    if code != 250:
        return _failure(f"{target} did not accept the message: {reply}", code, reply, retryable=400 <= code < 500)
    if refused:
        details = "; ".join(f"{address}: {answer}" for address, answer in refused.items())
        log.warning("Email accepted by %s, but it rejected some recipients: %s", target, details)
        return DeliveryResult(ok=True, status_code=code, response=f"{reply} (refused: {details})")
    return DeliveryResult(ok=True, status_code=code, response=reply)


async def send(config: EmailConfig, message: EmailMessage, recipients: list[str], timeout: float = TIMEOUT_SECONDS) -> DeliveryResult:
    """Send in a worker thread, because smtplib blocks while it waits for the server."""
    return await trio.to_thread.run_sync(send_sync, config, message, recipients, timeout, abandon_on_cancel=True)
