using System.Text.Json;
using Airlock.ClaudeCode.Events;
using Airlock.ClaudeCode.Hooks;
using Airlock.ClaudeCode.SecretFiles;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Core.Identity;
using Airlock.Gateway.Audit;
using Airlock.Gateway.Inspection;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Messages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Airlock.Gateway.Events;

/// <summary>
/// The gateway side of the Claude Code endpoint controls, all authenticated with the developer's key
/// (<c>x-api-key</c> or <c>Authorization: Bearer</c>):
/// <list type="bullet">
/// <item><c>GET /airlock/v1/claude-code/policy</c>: the hook policy (deny list, rules version, failure mode).</item>
/// <item><c>POST /airlock/v1/events</c>: hook events into the audit trail as <see cref="AuditKind.ToolEvent"/>
/// records, correlated with model calls by Claude Code session id; idempotent by event id.</item>
/// <item><c>POST /airlock/v1/keys/session</c>: the developer's long-lived key in, a short-lived key out (apiKeyHelper).</item>
/// </list>
/// Errors are Anthropic-shaped JSON like every other gateway answer, and never quote what was sent.
/// </summary>
public static class ClaudeCodeEndpoints
{
    /// <summary>Largest event batch body accepted.</summary>
    public const int MaxBatchBytes = 4 * 1024 * 1024;

    /// <summary>Most events in one batch (the hook sends at most <see cref="EventSpool.BatchSize"/>).</summary>
    public const int MaxBatchEvents = 1000;

    /// <summary>Registers the three endpoints on <paramref name="app"/>.</summary>
    public static void MapClaudeCodeEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var handler = new ClaudeCodeHandler(
            app.Services.GetRequiredService<AirlockConfig>(),
            app.Services.GetRequiredService<KeyAuthenticator>(),
            app.Services.GetRequiredService<IKeyStore>(),
            app.Services.GetRequiredService<AuditWriter>(),
            app.Services.GetRequiredService<GatewayInspection>(),
            app.Services.GetRequiredService<TimeProvider>());
        app.MapGet(ClaudeCodePaths.Policy, handler.PolicyAsync);
        app.MapPost(ClaudeCodePaths.Events, handler.EventsAsync);
        app.MapPost(ClaudeCodePaths.SessionKey, handler.SessionKeyAsync);
    }

    /// <summary>
    /// The hook policy for a configuration (built once per gateway: it only changes with the configuration). The
    /// organization's rule packs travel with it, so the hook stops the same internal token formats the gateway redacts.
    /// </summary>
    public static HookPolicy CreatePolicy(AirlockConfig config, string rulesVersion)
    {
        ArgumentNullException.ThrowIfNull(config);
        var packs = config.Inspection.Enabled
            ? config.Inspection.RulePacks.Select(path => new HookRulePack(Path.GetFileName(path), File.ReadAllText(path))).ToList()
            : [];
        if (packs.Sum(p => p.Toml.Length) > HookPolicy.MaxRulePackChars)
        {
            throw new ConfigurationException(config.Source, [$"inspection.rule_packs: together larger than {HookPolicy.MaxRulePackChars / 1024} KB, too large to send to every hook; split out what the hook does not need"]);
        }
        return new HookPolicy
        {
            DenyFiles = SecretFileList.WithAdditions(config.ClaudeCode.DenyFiles).Patterns,
            RulesVersion = rulesVersion,
            FailClosed = config.ClaudeCode.FailClosed,
            MaxScanBytes = config.ClaudeCode.MaxScanBytes,
            RulePacks = packs,
        };
    }

    private sealed class ClaudeCodeHandler(AirlockConfig config, KeyAuthenticator authenticator, IKeyStore keys, AuditWriter audit,
        GatewayInspection inspection, TimeProvider time)
    {
        private readonly byte[] _policyJson = CreatePolicy(config, inspection.Runtime?.RulesVersion ?? "").ToJson();

        public async Task PolicyAsync(HttpContext context)
        {
            if (await AuthenticateAsync(context).ConfigureAwait(false) is null)
            {
                return;
            }
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "no-store";
            await context.Response.Body.WriteAsync(_policyJson, context.RequestAborted).ConfigureAwait(false);
        }

        public async Task EventsAsync(HttpContext context)
        {
            var key = await AuthenticateAsync(context).ConfigureAwait(false);
            if (key is null)
            {
                return;
            }
            var body = await ReadBodyAsync(context).ConfigureAwait(false);
            if (body is null)
            {
                return;
            }
            List<ToolEvent> events;
            try
            {
                using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
                if (document.RootElement.ValueKind != JsonValueKind.Object
                    || !document.RootElement.TryGetProperty("events", out var array) || array.ValueKind != JsonValueKind.Array)
                {
                    await ErrorAsync(context, 400, AnthropicErrors.InvalidRequest, "body must be {\"events\":[…]}").ConfigureAwait(false);
                    return;
                }
                if (array.GetArrayLength() > MaxBatchEvents)
                {
                    await ErrorAsync(context, 413, AnthropicErrors.RequestTooLarge, $"at most {MaxBatchEvents} events per request").ConfigureAwait(false);
                    return;
                }
                events = new List<ToolEvent>(array.GetArrayLength());
                var index = 0;
                foreach (var item in array.EnumerateArray())
                {
                    if (ToolEvent.TryRead(item, out var problem) is not { } toolEvent)
                    {
                        await ErrorAsync(context, 400, AnthropicErrors.InvalidRequest, $"events[{index}]: {problem}").ConfigureAwait(false);
                        return;
                    }
                    events.Add(toolEvent);
                    index++;
                }
            }
            catch (JsonException ex)
            {
                await ErrorAsync(context, 400, AnthropicErrors.InvalidRequest,
                    $"body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine})").ConfigureAwait(false);
                return;
            }

            var received = time.GetUtcNow();
            foreach (var toolEvent in events)
            {
                await audit.EnqueueAsync(ToRecord(toolEvent, key, context, received)).ConfigureAwait(false);
            }
            // Acknowledge only once the records are durable: the hook deletes its queued copies on a 2xx.
            await audit.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($"{{\"accepted\":{events.Count}}}", context.RequestAborted).ConfigureAwait(false);
        }

        public async Task SessionKeyAsync(HttpContext context)
        {
            var key = await AuthenticateAsync(context).ConfigureAwait(false);
            if (key is null)
            {
                return;
            }
            if (key.Description?.StartsWith(SessionKeyDescription, StringComparison.Ordinal) == true)
            {
                // A short-lived key cannot mint more keys (or a stolen one would never expire).
                await ErrorAsync(context, 403, AnthropicErrors.Permission, "a session key cannot be exchanged; use your long-lived Airlock key").ConfigureAwait(false);
                return;
            }
            var now = time.GetUtcNow();
            var lifetime = config.ClaudeCode.SessionKeyLifetime;
            // Never outlive the key it came from.
            if (key.ExpiresAt is { } expiry && expiry - now < lifetime)
            {
                lifetime = expiry - now;
            }
            var (issued, record) = await new KeyIssuer(keys, time).IssueAsync(key.User, key.Team, KeyRole.Developer, lifetime,
                $"{SessionKeyDescription} from {key.Id}", context.RequestAborted).ConfigureAwait(false);
            await audit.EnqueueAsync(new AuditRecord
            {
                Kind = AuditKind.Admin,
                RequestId = "key_" + record.Id,
                Time = now,
                Door = "keys",
                Operation = "session_key",
                KeyId = key.Id,
                User = key.User,
                Team = key.Team,
                Status = 200,
                Outcome = AuditOutcome.Ok,
                UserAgent = context.Request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? ua : null,
                ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
            }).ConfigureAwait(false);
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "no-store";
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("key", issued);
                writer.WriteString("key_id", record.Id);
                writer.WriteString("expires_at", record.ExpiresAt!.Value);
                writer.WriteEndObject();
            }
            await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
        }

        private const string SessionKeyDescription = "claude-code session key";

        private static AuditRecord ToRecord(ToolEvent e, KeyRecord key, HttpContext context, DateTimeOffset received)
        {
            var (command, truncated) = ToolEventDetails.LimitCommand(e.Command);
            var decision = e.Decision switch
            {
                "allow" => ToolDecision.Allow,
                "deny" or "block" => ToolDecision.Deny,
                "ask" => ToolDecision.Ask,
                _ => ToolDecision.None,
            };
            return new AuditRecord
            {
                Kind = AuditKind.ToolEvent,
                RequestId = "evt_" + e.Id,
                // The hook's clock says when it happened; a queued event arrives later but belongs where it happened.
                Time = e.Time,
                Door = "events",
                Operation = e.HookEvent,
                KeyId = key.Id,
                User = key.User,
                Team = key.Team,
                SessionId = e.SessionId,
                Status = 200,
                Outcome = decision == ToolDecision.Deny ? AuditOutcome.Blocked : AuditOutcome.Ok,
                ErrorType = decision == ToolDecision.Deny ? (e.HookEvent == "UserPromptSubmit" ? "prompt_blocked" : "tool_denied") : null,
                LatencyMs = Math.Max(0, (received - e.Time).TotalMilliseconds),
                UserAgent = context.Request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? ua : null,
                ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
                Findings = HookFindings(e, decision),
                Detail = HookDetail(e),
                Tool = new ToolEventDetails
                {
                    HookEvent = e.HookEvent,
                    ToolName = e.ToolName,
                    FilePaths = e.FilePaths,
                    Command = command,
                    CommandTruncated = truncated,
                    Decision = decision,
                    DecisionReason = e.Reason,
                    DurationMs = e.DurationMs,
                    Cwd = e.Cwd,
                    EventId = e.Id,
                },
            };
        }

        /// <summary>
        /// What the hook reports beyond the tool columns, in the record's detail (hashed by chain encoding version 3):
        /// the policy version it decided with and, for a prompt, its length in characters (never its text), e.g.
        /// <c>policy_version=p-0f3a… prompt_length=120</c>. A version that is not a plain token is left out.
        /// </summary>
        internal static string? HookDetail(ToolEvent e)
        {
            var parts = new List<string>(2);
            if (e.PolicyVersion is { Length: > 0 } version && version.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                parts.Add("policy_version=" + version);
            }
            if (e.PromptLength is { } length)
            {
                parts.Add("prompt_length=" + length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            return parts.Count == 0 ? null : string.Join(' ', parts);
        }

        /// <summary>
        /// The rules that made the hook deny a read or block a prompt, as findings, so <c>airlock audit list --rule R</c>
        /// finds a secret stopped on the laptop next to the ones the gateway redacted. The hook holds no hash key,
        /// so the value hash stays empty: the laptop never sends anything derived from the value.
        /// </summary>
        private static List<AuditFinding> HookFindings(ToolEvent e, ToolDecision decision)
        {
            if (e.RuleIds.Count == 0)
            {
                return [];
            }
            var location = e.HookEvent == "UserPromptSubmit" ? "prompt" : e.FilePaths.Count > 0 ? "file:" + e.FilePaths[0] : "tool_input";
            var action = decision == ToolDecision.Deny ? "block" : "alert";
            return e.RuleIds.Distinct(StringComparer.Ordinal).Select(rule => new AuditFinding(rule, "secret", location, action, "")).ToList();
        }

        private async Task<KeyRecord?> AuthenticateAsync(HttpContext context)
        {
            var result = await authenticator.AuthenticateAsync(GatewayPipeline.PresentedKey(context.Request), context.RequestAborted).ConfigureAwait(false);
            if (result.Succeeded && result.Key!.Role == KeyRole.Auditor)
            {
                result = result with { Failure = AuthFailure.Forbidden };
            }
            if (!result.Succeeded)
            {
                var status = result.Failure == AuthFailure.Forbidden ? 403 : 401;
                if (status == 401)
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer realm=\"airlock\"";
                }
                await ErrorAsync(context, status, AnthropicErrors.TypeForStatus(status), result.Message).ConfigureAwait(false);
                return null;
            }
            return result.Key;
        }

        private static async Task<byte[]?> ReadBodyAsync(HttpContext context)
        {
            if (context.Request.ContentLength is > MaxBatchBytes)
            {
                await ErrorAsync(context, 413, AnthropicErrors.RequestTooLarge, $"event batches are limited to {MaxBatchBytes} bytes").ConfigureAwait(false);
                return null;
            }
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            while (true)
            {
                var read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer.ToArray();
                }
                if (buffer.Length + read > MaxBatchBytes)
                {
                    await ErrorAsync(context, 413, AnthropicErrors.RequestTooLarge, $"event batches are limited to {MaxBatchBytes} bytes").ConfigureAwait(false);
                    return null;
                }
                buffer.Write(chunk, 0, read);
            }
        }

        private static async Task ErrorAsync(HttpContext context, int status, string type, string message)
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(AnthropicErrors.Body(type, message), context.RequestAborted).ConfigureAwait(false);
        }
    }
}
