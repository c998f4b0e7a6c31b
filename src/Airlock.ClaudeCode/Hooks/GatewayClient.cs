using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Airlock.ClaudeCode.Events;

namespace Airlock.ClaudeCode.Hooks;

/// <summary>Paths of the gateway's Claude Code endpoints (served by <c>Airlock.Gateway/Events</c>).</summary>
public static class ClaudeCodePaths
{
    /// <summary><c>GET</c>: the hook policy (deny list, rules version, failure mode).</summary>
    public const string Policy = "/airlock/v1/claude-code/policy";

    /// <summary><c>POST</c> <c>{"events":[…]}</c>: hook events into the audit trail.</summary>
    public const string Events = "/airlock/v1/events";

    /// <summary><c>POST</c>: exchanges the developer's long-lived key for a short-lived one (apiKeyHelper).</summary>
    public const string SessionKey = "/airlock/v1/keys/session";
}

/// <summary>A short-lived key from the gateway.</summary>
public sealed record SessionKey(string Key, DateTimeOffset ExpiresAt);

/// <summary>
/// The hook's calls to the gateway, each with its own short timeout: a slow or absent gateway costs the
/// developer at most that long, never a stalled session.
/// </summary>
public sealed class GatewayClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly HookCredential _credential;

    public GatewayClient(HookCredential credential, TimeSpan connectTimeout)
    {
        ArgumentNullException.ThrowIfNull(credential);
        _credential = credential;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            BaseAddress = new Uri(credential.Gateway.TrimEnd('/') + "/"),
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Fetches the policy; null when the gateway did not answer with one in time.</summary>
    public async Task<HookPolicy?> GetPolicyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var request = Request(HttpMethod.Get, ClaudeCodePaths.Policy);
            using var response = await _http.SendAsync(request, cts.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return null;
            }
            var body = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
            return HookPolicy.TryParse(body, out _);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    /// <summary>Sends a batch of serialized events; the HTTP status (0 when there was no answer in time).</summary>
    public async Task<int> SendEventsAsync(IReadOnlyList<byte[]> events, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var request = Request(HttpMethod.Post, ClaudeCodePaths.Events);
            request.Content = new ByteArrayContent(ToolEvent.BatchJson(events.Select(e => new ReadOnlyMemory<byte>(e))));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _http.SendAsync(request, cts.Token).ConfigureAwait(false);
            return (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return 0;
        }
    }

    /// <summary>Exchanges the long-lived key for a short-lived one; throws <see cref="HookException"/> with a reason on failure.</summary>
    public async Task<SessionKey> ExchangeKeyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var request = Request(HttpMethod.Post, ClaudeCodePaths.SessionKey);
            request.Content = new ByteArrayContent("{}"u8.ToArray());
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _http.SendAsync(request, cts.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new HookException($"the gateway refused the key exchange: HTTP {(int)response.StatusCode} {ErrorMessage(body)}");
            }
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.TryGetProperty("key", out var key) && key.ValueKind == JsonValueKind.String
                && root.TryGetProperty("expires_at", out var expires) && expires.TryGetDateTimeOffset(out var at))
            {
                return new SessionKey(key.GetString()!, at);
            }
            throw new HookException("the gateway's key exchange answer has no key/expires_at");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HookException($"the gateway at {_credential.Gateway} did not answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            throw new HookException($"cannot reach the gateway at {_credential.Gateway}: {ex.Message}");
        }
        catch (JsonException)
        {
            throw new HookException("the gateway's key exchange answer is not JSON");
        }
    }

    /// <summary>GET /healthz and an authenticated policy fetch, for doctor: (reachable, status of the authenticated call).</summary>
    public async Task<(bool Reachable, int AuthStatus)> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var health = await _http.GetAsync(new Uri("healthz", UriKind.Relative), cts.Token).ConfigureAwait(false);
            using var request = Request(HttpMethod.Get, ClaudeCodePaths.Policy);
            using var response = await _http.SendAsync(request, cts.Token).ConfigureAwait(false);
            return (true, (int)response.StatusCode);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return (false, 0);
        }
    }

    public void Dispose() => _http.Dispose();

    private HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(path.TrimStart('/'), UriKind.Relative));
        request.Headers.TryAddWithoutValidation("x-api-key", _credential.Key);
        request.Headers.TryAddWithoutValidation("User-Agent", "airlock-hook/1");
        return request;
    }

    private static string ErrorMessage(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
            {
                return message.GetString()!;
            }
        }
        catch (JsonException)
        {
        }
        return "";
    }
}

/// <summary>A hook failure with a message fit for the developer (never a credential).</summary>
public sealed class HookException(string message) : Exception(message);
