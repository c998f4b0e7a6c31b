using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.Signing;
using Airlock.Testing;

namespace Airlock.EndToEndTests;

/// <summary>
/// The scripted Bedrock upstream must reject what Bedrock rejects and answer what Bedrock answers: these tests drive
/// it over real loopback sockets with requests signed by the gateway's own SigV4 authorizer and decode its streams
/// with the gateway's own event-stream translator.
/// </summary>
public sealed class ScriptedBedrockSelfTests : IAsyncLifetime
{
    private const string Model = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    private const string Body = """{"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}""";

    private readonly AdjustableTime _time = new(DateTimeOffset.UtcNow);
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
    private ScriptedBedrock _bedrock = null!;

    public async Task InitializeAsync() =>
        _bedrock = await ScriptedBedrock.StartAsync(new ScriptedBedrock(new BedrockSigV4Verifier("us-east-1", _time, BedrockSigV4Verifier.TestCredentials))
        {
            AcceptedBetas = new HashSet<string> { "interleaved-thinking-2025-05-14" },
        });

    public async Task DisposeAsync()
    {
        await _bedrock.DisposeAsync();
        _client.Dispose();
    }

    private BedrockEndpoint Endpoint => new("us-east-1", new Uri(_bedrock.BaseUrl));

    private async Task<HttpResponseMessage> SendAsync(string model, bool stream, string body, IBedrockAuthorizer? authorizer = null,
        Action<HttpRequestMessage>? afterSigning = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Endpoint.InvokeUri(model, stream ? BedrockOperation.InvokeWithResponseStream : BedrockOperation.Invoke))
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        authorizer ??= new SigV4BedrockAuthorizer(new StaticAwsCredentialProvider(BedrockSigV4Verifier.TestCredentials), "us-east-1", _time);
        await authorizer.AuthorizeAsync(request, Encoding.UTF8.GetBytes(body), CancellationToken.None);
        afterSigning?.Invoke(request);
        return await _client.SendAsync(request);
    }

    private static async Task<(string Sse, BedrockFramesToSse Translator)> ReadStreamAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.amazon.eventstream", response.Content.Headers.ContentType?.MediaType);
        var translator = new BedrockFramesToSse();
        var sse = new ArrayBufferWriter<byte>();
        translator.Feed(await response.Content.ReadAsByteArrayAsync(), sse);
        translator.Complete();
        return (Encoding.UTF8.GetString(sse.WrittenSpan), translator);
    }

    private static async Task AssertRejectedAsync(HttpResponseMessage response, HttpStatusCode status, string errorType, string messageStart)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(errorType, response.Headers.GetValues("x-amzn-ErrorType").Single());
        var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString();
        Assert.StartsWith(messageStart, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signed_streaming_call_gets_chunk_frames_that_decode_to_messages_events()
    {
        _bedrock.DefaultReply = UpstreamReply.Text("Hello from Bedrock, in several deltas.");
        using var response = await SendAsync(Model, stream: true, Body);
        var (sse, translator) = await ReadStreamAsync(response);
        Assert.True(translator.SawMessageStop);
        Assert.Null(translator.Error);
        Assert.StartsWith("event: message_start\ndata: {", sse, StringComparison.Ordinal);
        Assert.DoesNotContain("event: ping", sse, StringComparison.Ordinal);
        Assert.Contains("\"model\":\"" + Model + "\"", sse, StringComparison.Ordinal);
        var call = Assert.Single(_bedrock.Calls);
        Assert.Equal(Model, call.ModelId);
        Assert.True(call.Streaming);
        Assert.Equal("/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream", call.Request.Path);
        translator.Dispose();
    }

    [Fact]
    public async Task Invoke_answers_with_the_message_json_and_an_arn_model_id_keeps_its_encoded_slash()
    {
        const string arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
        _bedrock.DefaultReply = UpstreamReply.ToolUse("Read", new { file_path = "/tmp/x" });
        using var response = await SendAsync(arn, stream: false, Body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("tool_use", message.GetProperty("stop_reason").GetString());
        Assert.Equal(arn, Assert.Single(_bedrock.Calls).ModelId);
        Assert.Contains("application-inference-profile%2Fabc123", _bedrock.Calls[0].Request.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_secret_is_rejected_as_a_signature_mismatch()
    {
        var wrong = new AwsCredentials(BedrockSigV4Verifier.TestCredentials.AccessKeyId, "not-the-secret");
        using var response = await SendAsync(Model, false, Body, new SigV4BedrockAuthorizer(new StaticAwsCredentialProvider(wrong), "us-east-1", _time));
        await AssertRejectedAsync(response, HttpStatusCode.Forbidden, "InvalidSignatureException", "The request signature we calculated does not match");
    }

    [Fact]
    public async Task Body_changed_after_signing_is_rejected()
    {
        using var response = await SendAsync(Model, false, Body, afterSigning: r =>
        {
            r.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Body.Replace("hello", "HELLO", StringComparison.Ordinal)));
            r.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        });
        await AssertRejectedAsync(response, HttpStatusCode.Forbidden, "InvalidSignatureException", "The request signature we calculated does not match");
    }

    [Fact]
    public async Task Unknown_access_key_is_unrecognized()
    {
        var stranger = new AwsCredentials("AKIAUNKNOWNEXAMPLE00", "secret");
        using var response = await SendAsync(Model, false, Body, new SigV4BedrockAuthorizer(new StaticAwsCredentialProvider(stranger), "us-east-1", _time));
        await AssertRejectedAsync(response, HttpStatusCode.Forbidden, "UnrecognizedClientException", "The security token included in the request is invalid.");
    }

    [Fact]
    public async Task Signature_older_than_five_minutes_is_expired()
    {
        var old = new AdjustableTime(_time.GetUtcNow().AddMinutes(-6));
        using var response = await SendAsync(Model, false, Body, new SigV4BedrockAuthorizer(new StaticAwsCredentialProvider(BedrockSigV4Verifier.TestCredentials), "us-east-1", old));
        await AssertRejectedAsync(response, HttpStatusCode.Forbidden, "InvalidSignatureException", "Signature expired: ");
    }

    [Fact]
    public async Task Wrong_region_in_the_scope_is_rejected()
    {
        using var response = await SendAsync(Model, false, Body, new SigV4BedrockAuthorizer(new StaticAwsCredentialProvider(BedrockSigV4Verifier.TestCredentials), "eu-west-1", _time));
        await AssertRejectedAsync(response, HttpStatusCode.Forbidden, "InvalidSignatureException", "Credential should be scoped to a valid region");
    }

    [Fact]
    public async Task Missing_authorization_is_rejected_and_a_bearer_key_needs_to_be_configured()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint.InvokeUri(Model, BedrockOperation.Invoke)) { Content = new StringContent(Body) };
        using var response = await _client.SendAsync(request);
        await AssertRejectedAsync(response, HttpStatusCode.Forbidden, "MissingAuthenticationTokenException", "Missing Authentication Token");
        using var bearer = await SendAsync(Model, false, Body, new BearerTokenBedrockAuthorizer("bedrock-api-key-test"));
        Assert.Equal(HttpStatusCode.Forbidden, bearer.StatusCode);
    }

    [Theory]
    [InlineData("""{"model":"x","anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[]}""", "extraneous key [model]")]
    [InlineData("""{"stream":true,"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[]}""", "extraneous key [stream]")]
    [InlineData("""{"max_tokens":1,"messages":[]}""", "required key [anthropic_version]")]
    [InlineData("""{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["made-up-beta"],"max_tokens":1,"messages":[]}""", "invalid beta flag")]
    [InlineData("""not json""", "Malformed input request")]
    public async Task Bodies_bedrock_refuses_get_a_validation_exception(string body, string expected)
    {
        using var response = await SendAsync(Model, false, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("ValidationException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accepted_betas_pass()
    {
        using var response = await SendAsync(Model, false,
            """{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"],"max_tokens":1,"messages":[]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["interleaved-thinking-2025-05-14"], Assert.Single(_bedrock.Calls).Betas);
    }

    [Fact]
    public async Task Mid_stream_errors_arrive_as_exception_frames()
    {
        _bedrock.DefaultReply = UpstreamReply.ErrorEventMidStream(2, "rate_limit_error", "Too many requests, please wait before trying again.");
        using var response = await SendAsync(Model, stream: true, Body);
        var (sse, translator) = await ReadStreamAsync(response);
        Assert.False(translator.SawMessageStop);
        Assert.Equal("throttlingException", translator.Error!.BedrockType);
        Assert.EndsWith("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Too many requests, please wait before trying again.\"}}\n\n",
            sse, StringComparison.Ordinal);
        translator.Dispose();
    }

    [Fact]
    public async Task Scripted_http_errors_use_bedrock_shapes()
    {
        _bedrock.DefaultReply = UpstreamReply.Error(429, "rate_limit_error", "Too many requests");
        using var response = await SendAsync(Model, stream: true, Body);
        await AssertRejectedAsync(response, HttpStatusCode.TooManyRequests, "ThrottlingException", "Too many requests");
        Assert.Empty(_bedrock.Failures);
    }

    private sealed class AdjustableTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
