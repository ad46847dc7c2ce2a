"""Outgoing e-mail: ``mailer`` renders the templates in ``templates/`` (one Jinja2
template per e-mail, the HTML part autoescaped) and queues and
sends through Mailgun (or the sandbox). Features say *which* e-mail to whom; this
package knows how."""
