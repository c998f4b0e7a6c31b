using System.Net.Http.Headers;

namespace Airlock.Gateway.Siem;

/// <summary>The HTTP side the webhook and OTLP sinks share: one client per sink, and a POST bounded by the sink's timeout.</summary>
internal static class SiemHttp
{
    /// <summary>
    /// A client for one sink: no proxy, no redirects, connections recycled every two minutes (DNS changes), no client-wide
    /// timeout; <paramref name="connect"/>, when given, opens each connection (the data-egress guard).
    /// </summary>
    public static HttpClient CreateClient(TimeSpan connectTimeout, Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect = null) =>
        new(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = connectTimeout,
            ConnectCallback = connect,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    /// <summary>
    /// POSTs <paramref name="body"/> as JSON; a non-2xx answer, a connection failure or no answer within
    /// <paramref name="timeout"/> (a hanging endpoint) throws <see cref="SiemDeliveryException"/> naming <paramref name="what"/>.
    /// </summary>
    public static async Task PostJsonAsync(HttpClient http, Uri url, byte[] body, Action<HttpRequestHeaders>? headers, TimeSpan timeout, string what,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        headers?.Invoke(request.Headers);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new SiemDeliveryException($"{what} answered {(int)response.StatusCode}");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SiemDeliveryException(ex is OperationCanceledException
                ? $"{what}: no answer within {timeout.TotalSeconds:0.#}s"
                : $"{what}: {(ex.InnerException is Upstreams.EgressRefusedException refused ? "connection refused by the data-egress level: " + refused.Reason : ex.Message)}", ex);
        }
    }
}
