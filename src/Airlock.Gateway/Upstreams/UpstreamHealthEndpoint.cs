using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// <c>GET /health/upstreams</c>: each upstream's circuit state and recent failures, and circuit changes in the log.
/// Shows names, kinds and states only (no URLs, hosts or credentials), like <c>/healthz</c> it needs no key.
/// The status is 200 while at least one upstream is closed or probing, 503 when every circuit is open.
/// </summary>
internal static partial class UpstreamHealthEndpoint
{
    public static async Task WriteAsync(HttpContext context, UpstreamRegistry upstreams, int level)
    {
        var health = upstreams.Health();
        context.Response.StatusCode = health.Count > 0 && health.All(h => h.State == CircuitState.Open) ? 503 : 200;
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("level", level);
            json.WriteStartArray("upstreams");
            foreach (var h in health)
            {
                json.WriteStartObject();
                json.WriteString("name", h.Name);
                json.WriteString("kind", h.Kind);
                json.WriteString("state", StateName(h.State));
                json.WriteNumber("consecutive_failures", h.ConsecutiveFailures);
                json.WriteNumber("window_calls", h.WindowCalls);
                json.WriteNumber("window_failures", h.WindowFailures);
                WriteTime(json, "opened_at", h.OpenedAt);
                WriteTime(json, "retry_at", h.RetryAt);
                if (h.LastFailure is { } last)
                {
                    json.WriteString("last_failure", last);
                }
                else
                {
                    json.WriteNull("last_failure");
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Logs every circuit change (warning when one opens, information otherwise).</summary>
    public static void LogCircuitChanges(UpstreamRegistry upstreams, ILogger logger)
    {
        foreach (var client in upstreams.Clients)
        {
            client.Breaker.StateChanged += (breaker, from, to, reason) =>
            {
                if (to == CircuitState.Open)
                {
                    LogOpened(logger, breaker.Upstream, from, reason, breaker.RetryAt);
                }
                else
                {
                    LogChanged(logger, breaker.Upstream, from, to, reason);
                }
            };
        }
    }

    public static string StateName(CircuitState state) => state switch
    {
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half_open",
        _ => "closed",
    };

    private static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? value)
    {
        if (value is { } time)
        {
            json.WriteString(name, time.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "upstream {Upstream} circuit {From} → open: {Reason}; probing again at {RetryAt:O}")]
    private static partial void LogOpened(ILogger logger, string upstream, CircuitState from, string reason, DateTimeOffset retryAt);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "upstream {Upstream} circuit {From} → {To}: {Reason}")]
    private static partial void LogChanged(ILogger logger, string upstream, CircuitState from, CircuitState to, string reason);
}
