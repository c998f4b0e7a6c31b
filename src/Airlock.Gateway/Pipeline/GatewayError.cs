using Airlock.Core.Audit;

namespace Airlock.Gateway.Pipeline;

/// <summary>
/// A failure the gateway reports to the client, in protocol-neutral form: the HTTP status, the Anthropic error
/// type (the gateway's lingua franca; each door maps it to its own shape) and a message that never quotes content.
/// </summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Type">Anthropic error type (<c>invalid_request_error</c>, <c>rate_limit_error</c>, …).</param>
/// <param name="Message">Human-readable reason; names rules and locations, never values.</param>
internal readonly record struct GatewayError(int Status, string Type, string Message);

/// <summary>A refusal: what the client is told plus what the audit record says.</summary>
/// <param name="Error">What the client sees.</param>
/// <param name="ErrorType">Audit <c>error_type</c> (<c>no_route</c>, <c>upstream_status_429</c>, …).</param>
/// <param name="Outcome">Audit outcome.</param>
internal readonly record struct Refusal(GatewayError Error, string ErrorType, AuditOutcome Outcome = AuditOutcome.Rejected);
