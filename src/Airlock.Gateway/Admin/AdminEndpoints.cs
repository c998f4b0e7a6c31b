using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Identity;
using Airlock.Gateway.Audit;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Messages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Airlock.Gateway.Admin;

/// <summary>
/// The admin HTTP API under <c>/admin/v1</c>: the audit trail read the way <c>airlock audit</c> reads it (list, show,
/// export, verify, public key) for keys of role <c>auditor</c> or <c>admin</c>, and a few admin-only writes.
/// <para>
/// Every call, refused ones included, is itself an audit record (kind <c>admin</c>: who, which route, which filter),
/// and a call that reads the trail gets its data only once that record is durable: reading the trail is never
/// invisible. Developer keys get 403 on everything here; auditors get 403 on every write. Errors are JSON in the
/// Anthropic error shape the rest of the gateway uses.
/// </para>
/// </summary>
public static class AdminEndpoints
{
    private const string Prefix = "/admin/v1";

    // Longest wait for the access record to become durable before the read is refused (the store is failing).
    private static readonly TimeSpan RecordTimeout = TimeSpan.FromSeconds(10);

    private static readonly string[] PageParameters = ["limit", "to_seq"];
    private static readonly string[] ExportParameters = ["format"];

    /// <summary>Maps the admin routes onto <paramref name="app"/>.</summary>
    public static void MapAdminEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = new AdminApi(app.Services);
        app.MapGet(Prefix + "/audit/records", context => api.HandleAsync(context, "audit.list", write: false, api.ListAsync));
        app.MapGet(Prefix + "/audit/records/{requestId}", context => api.HandleAsync(context, "audit.show", write: false, api.ShowAsync));
        app.MapGet(Prefix + "/audit/export", context => api.HandleAsync(context, "audit.export", write: false, api.ExportAsync));
        app.MapGet(Prefix + "/audit/verify", context => api.HandleAsync(context, "audit.verify", write: false, api.VerifyAsync));
        app.MapGet(Prefix + "/audit/public-key", context => api.HandleAsync(context, "audit.public_key", write: false, api.PublicKeyAsync));
        app.MapPost(Prefix + "/audit/checkpoint", context => api.HandleAsync(context, "audit.checkpoint", write: true, api.CheckpointAsync));
        app.MapGet(Prefix + "/keys", context => api.HandleAsync(context, "keys.list", write: true, api.ListKeysAsync));
        app.MapPost(Prefix + "/keys/{id}/revoke", context => api.HandleAsync(context, "keys.revoke", write: true, api.RevokeKeyAsync));
        // Anything else under /admin: authenticated and recorded like the rest, then 404 (or 403/401 first).
        app.Map("/admin/{**rest}", context => api.HandleAsync(context, "unknown", write: true, AdminApi.NotFoundAsync));
    }

    /// <summary>What a handler decided: the status, what the access record keeps, and how to write the body.</summary>
    internal sealed record AdminResult(int Status, string Parameters, Func<HttpResponse, CancellationToken, Task> WriteBody, string? ErrorType = null);

    internal sealed class AdminApi(IServiceProvider services)
    {
        private readonly KeyAuthenticator _authenticator = services.GetRequiredService<KeyAuthenticator>();
        private readonly IKeyStore _keys = services.GetRequiredService<IKeyStore>();
        private readonly AuditWriter _audit = services.GetRequiredService<AuditWriter>();
        private readonly OpenedAuditStore _store = services.GetRequiredService<OpenedAuditStore>();
        private readonly TimeProvider _time = services.GetRequiredService<TimeProvider>();

        public async Task HandleAsync(HttpContext context, string action, bool write, Func<HttpContext, Task<AdminResult>> handler)
        {
            var started = Stopwatch.GetTimestamp();
            var requestId = "adm_" + Guid.NewGuid().ToString("N");
            context.Response.Headers["x-airlock-request-id"] = requestId;
            context.Response.Headers.CacheControl = "no-store";
            var line = $"{context.Request.Method} {context.Request.Path}";
            var auth = await _authenticator.AuthenticateAsync(GatewayPipeline.PresentedKey(context.Request), context.RequestAborted).ConfigureAwait(false);
            AdminResult result;
            if (!auth.Succeeded)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"airlock-admin\"";
                result = Error(401, AnthropicErrors.Authentication, auth.Message, line, "auth_" + auth.Failure.ToString().ToLowerInvariant());
            }
            else if (auth.Key!.Role == KeyRole.Developer || write && auth.Key.Role != KeyRole.Admin)
            {
                var message = auth.Key.Role == KeyRole.Developer
                    ? "the admin API needs a key of role auditor or admin"
                    : "this route changes state and needs a key of role admin (auditor keys are read-only)";
                result = Error(403, AnthropicErrors.Permission, message, line, "auth_forbidden");
            }
            else
            {
                try
                {
                    result = await handler(context).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    // A store that fails mid-read: a JSON 503 and a record of the attempt, never an HTML 500 or a stack trace.
                    result = Error(503, AnthropicErrors.Api, $"the audit store could not be read ({ex.GetType().Name})", line, "store_error");
                }
            }

            var key = auth.Key;
            var record = new AuditRecord
            {
                Kind = AuditKind.Admin,
                RequestId = requestId,
                Time = _time.GetUtcNow(),
                Door = "admin",
                Operation = action,
                KeyId = key?.Id,
                User = key?.User,
                Team = key?.Team,
                Status = result.Status,
                Outcome = result.Status < 400 ? AuditOutcome.Ok : AuditOutcome.Rejected,
                ErrorType = result.ErrorType,
                LatencyMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                UserAgent = context.Request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? AdminAuditQuery.Shorten(ua) : null,
                ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
                Detail = AdminRecords.Detail(result.Parameters),
            };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                timeout.CancelAfter(RecordTimeout);
                await _audit.WriteDurableAsync(record, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                // The record stays queued and will be written; the data is not released until it is.
                await WriteErrorAsync(context.Response, 503, AnthropicErrors.Overloaded,
                    "audit store unavailable: the access could not be recorded, so nothing is returned", context.RequestAborted).ConfigureAwait(false);
                return;
            }
            context.Response.StatusCode = result.Status;
            await result.WriteBody(context.Response, context.RequestAborted).ConfigureAwait(false);
        }

        public async Task<AdminResult> ListAsync(HttpContext context)
        {
            if (!TryQuery(context, PageParameters, out var query, out var parameters, out var bad))
            {
                return bad;
            }
            var records = await _store.Store.QueryAsync(query, context.RequestAborted).ConfigureAwait(false);
            // Newest first: the next page ends just below the oldest record of this one.
            long? next = records.Count == query.Limit && records[^1].Chain is { Sequence: > 1 } last ? last.Sequence - 1 : null;
            return new AdminResult(200, parameters, (response, ct) => WriteJsonAsync(response, writer =>
            {
                writer.WriteStartObject();
                WriteRecords(writer, records);
                if (next is { } n)
                {
                    writer.WriteNumber("next_to_seq", n);
                }
                else
                {
                    writer.WriteNull("next_to_seq");
                }
                writer.WriteEndObject();
            }, ct));
        }

        public async Task<AdminResult> ShowAsync(HttpContext context)
        {
            var requestId = (string)context.Request.RouteValues["requestId"]!;
            var line = $"GET {context.Request.Path}";
            if (context.Request.Query.Count > 0)
            {
                return Error(400, AnthropicErrors.InvalidRequest, "show takes no query parameters", line, "invalid_parameters");
            }
            var records = await _store.Store.QueryAsync(new AuditQuery { RequestId = requestId, OldestFirst = true, Limit = 100 }, context.RequestAborted)
                .ConfigureAwait(false);
            if (records.Count == 0)
            {
                return Error(404, AnthropicErrors.NotFound, $"no audit record with request id '{AdminAuditQuery.Shorten(requestId)}'", line, "not_found");
            }
            return new AdminResult(200, line, (response, ct) => WriteJsonAsync(response, writer =>
            {
                writer.WriteStartObject();
                WriteRecords(writer, records);
                writer.WriteEndObject();
            }, ct));
        }

        public async Task<AdminResult> ExportAsync(HttpContext context)
        {
            if (!TryQuery(context, ExportParameters, out var query, out var parameters, out var bad))
            {
                return bad;
            }
            var formatText = context.Request.Query["format"].ToString() is { Length: > 0 } f ? f : "jsonl";
            if (formatText is not ("jsonl" or "csv"))
            {
                return Error(400, AnthropicErrors.InvalidRequest, "format: must be jsonl or csv", $"GET {context.Request.Path}?{parameters}", "invalid_parameters");
            }
            // The cut is the head at start, as in 'airlock audit export': what is appended meanwhile is left for the next export.
            var head = await _store.Store.GetChainHeadAsync(context.RequestAborted).ConfigureAwait(false);
            return new AdminResult(200, $"GET {context.Request.Path}?{parameters}", async (response, ct) =>
            {
                response.ContentType = formatText == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
                response.Headers.ContentDisposition = $"attachment; filename=\"airlock-audit-{head.Sequence.ToString(CultureInfo.InvariantCulture)}.{formatText}\"";
                using var key = _store.LoadSigningKey();
                var header = new AuditExportHeader
                {
                    ExportedAt = _time.GetUtcNow(),
                    Filtered = query.IsFiltered,
                    ToSequence = head.Sequence,
                    KeyId = key?.KeyId,
                    PublicKey = key is null ? null : Convert.ToHexStringLower(key.PublicKey.Raw),
                };
                // Streamed: records flow from the store's reader to the socket without being held in memory.
                await using var writer = new StreamWriter(response.Body, new UTF8Encoding(false), bufferSize: 16 * 1024, leaveOpen: true);
                await AuditExport.WriteAsync(writer, formatText == "csv" ? AuditExportFormat.Csv : AuditExportFormat.Jsonl, header,
                    _store.Store.ReadAsync(query with { OldestFirst = true, ToSequence = head.Sequence, Limit = int.MaxValue }, ct),
                    _store.Store.ReadCheckpointsAsync(head.Sequence, ct), ct).ConfigureAwait(false);
            });
        }

        public async Task<AdminResult> VerifyAsync(HttpContext context)
        {
            var line = $"GET {context.Request.Path}";
            if (context.Request.Query.Count > 0)
            {
                return Error(400, AnthropicErrors.InvalidRequest, "verify takes no query parameters", line, "invalid_parameters");
            }
            using var own = _store.LoadSigningKey();
            var trusted = own?.PublicKey;
            var result = await AuditChainVerifier.VerifyStoreAsync(_store.Store, trusted, context.RequestAborted).ConfigureAwait(false);
            return new AdminResult(200, line, (response, ct) => WriteJsonAsync(response, writer => result.WriteJson(writer, trusted), ct));
        }

        public Task<AdminResult> PublicKeyAsync(HttpContext context)
        {
            var line = $"GET {context.Request.Path}";
            using var key = _store.LoadSigningKey();
            if (key is null)
            {
                return Task.FromResult(Error(404, AnthropicErrors.NotFound, "no checkpoint-signing key exists yet", line, "not_found"));
            }
            var pem = key.PublicKey.ToPem();
            var hex = Convert.ToHexStringLower(key.PublicKey.Raw);
            var id = key.KeyId;
            return Task.FromResult(new AdminResult(200, line, (response, ct) => WriteJsonAsync(response, writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("key_id", id);
                writer.WriteString("public_key_pem", pem);
                writer.WriteString("public_key_hex", hex);
                writer.WriteEndObject();
            }, ct)));
        }

        public async Task<AdminResult> CheckpointAsync(HttpContext context)
        {
            var line = $"POST {context.Request.Path}";
            // Records already queued are committed first, so the checkpoint covers everything accepted before this call.
            await _audit.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            var checkpoint = await _audit.CheckpointAsync(context.RequestAborted).ConfigureAwait(false);
            return new AdminResult(200, line, (response, ct) => WriteJsonAsync(response, writer =>
            {
                writer.WriteStartObject();
                writer.WritePropertyName("checkpoint");
                if (checkpoint is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    JsonSerializer.Serialize(writer, checkpoint, AdminJsonContext.Default.AuditCheckpoint);
                }
                writer.WriteEndObject();
            }, ct));
        }

        public async Task<AdminResult> ListKeysAsync(HttpContext context)
        {
            var keys = await _keys.ListKeysAsync(context.RequestAborted).ConfigureAwait(false);
            return new AdminResult(200, $"GET {context.Request.Path}", (response, ct) => WriteJsonAsync(response, writer =>
            {
                // Ids and owners only: a key's digest is never shown, its value was never stored.
                writer.WriteStartObject();
                writer.WriteStartArray("keys");
                foreach (var k in keys)
                {
                    writer.WriteStartObject();
                    writer.WriteString("id", k.Id);
                    writer.WriteString("user", k.User);
                    writer.WriteString("team", k.Team);
                    writer.WriteString("role", k.Role.ToString().ToLowerInvariant());
                    writer.WriteString("created_at", k.CreatedAt);
                    WriteTime(writer, "expires_at", k.ExpiresAt);
                    WriteTime(writer, "revoked_at", k.RevokedAt);
                    writer.WriteString("description", k.Description);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }, ct));
        }

        public async Task<AdminResult> RevokeKeyAsync(HttpContext context)
        {
            var id = (string)context.Request.RouteValues["id"]!;
            var line = $"POST {context.Request.Path}";
            var revoked = await _keys.RevokeKeyAsync(id, _time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
            if (!revoked)
            {
                return Error(404, AnthropicErrors.NotFound, $"no active key with id '{AdminAuditQuery.Shorten(id)}'", line, "not_found");
            }
            return new AdminResult(200, line, (response, ct) => WriteJsonAsync(response, writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("id", id);
                writer.WriteBoolean("revoked", true);
                writer.WriteEndObject();
            }, ct));
        }

        public static Task<AdminResult> NotFoundAsync(HttpContext context) =>
            Task.FromResult(Error(404, AnthropicErrors.NotFound, $"no such admin endpoint: {context.Request.Method} {context.Request.Path}",
                $"{context.Request.Method} {context.Request.Path}", "not_found"));

        private static bool TryQuery(HttpContext context, string[] extra, out AuditQuery query, out string parameters, out AdminResult bad)
        {
            var path = $"GET {context.Request.Path}";
            if (!AdminAuditQuery.TryParse(context.Request.Query, DateTimeOffset.UtcNow, extra, out query, out var canonical, out var error))
            {
                // The refused query string is kept as sent (cut short): it is what the caller asked for.
                parameters = path + context.Request.QueryString.Value;
                bad = Error(400, AnthropicErrors.InvalidRequest, error, parameters, "invalid_parameters");
                return false;
            }
            parameters = canonical.Length == 0 ? path : $"{path}?{canonical}";
            bad = null!;
            return true;
        }

        private static AdminResult Error(int status, string type, string message, string parameters, string errorType) =>
            new(status, parameters, (response, ct) => WriteErrorAsync(response, status, type, message, ct), errorType);

        private static async Task WriteErrorAsync(HttpResponse response, int status, string type, string message, CancellationToken cancellationToken)
        {
            response.StatusCode = status;
            response.ContentType = "application/json";
            await response.Body.WriteAsync(AnthropicErrors.Body(type, message), cancellationToken).ConfigureAwait(false);
        }

        private static async Task WriteJsonAsync(HttpResponse response, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
        {
            response.ContentType = "application/json";
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                write(writer);
            }
            await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken).ConfigureAwait(false);
        }

        private static void WriteRecords(Utf8JsonWriter writer, IReadOnlyList<AuditRecord> records)
        {
            writer.WriteStartArray("records");
            foreach (var record in records)
            {
                JsonSerializer.Serialize(writer, record, AdminJsonContext.Default.AuditRecord);
            }
            writer.WriteEndArray();
        }

        private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? value)
        {
            if (value is { } v)
            {
                writer.WriteString(name, v);
            }
            else
            {
                writer.WriteNull(name);
            }
        }
    }
}
