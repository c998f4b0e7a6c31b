using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.Signing;

namespace Airlock.Tests.Aws;

/// <summary>
/// The AWS SigV4 test suite (awslabs/aws-c-auth <c>tests/aws-signing-test-suite/v4/*/header-signed-request.txt</c>; the same
/// cases as the original aws-sig-v4-test-suite): credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
/// region us-east-1, service <c>service</c>, 2015-08-30T12:36:00Z. Expected signatures are copied from those files.
/// </summary>
public class SigV4VectorTests
{
    internal static readonly AwsCredentials Example = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    internal static readonly DateTimeOffset VectorTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    private static SigV4Signature SignVector(string method, string path, string query, (string Name, string Value)[] headers, string body,
        AwsCredentials? credentials = null)
    {
        var all = new List<KeyValuePair<string, string>> { new("Host", "example.amazonaws.com"), new("X-Amz-Date", "20150830T123600Z") };
        all.AddRange(headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value)));
        var request = new SigV4Request(method, path, query, all, SigV4.HashPayload(Encoding.UTF8.GetBytes(body)));
        return SigV4.Sign(request, credentials ?? Example, "us-east-1", "service", VectorTime);
    }

    [Fact]
    public void Get_vanilla()
    {
        var signature = SignVector("GET", "/", "", [], "");
        Assert.Equal("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + SigV4.EmptyPayloadHash,
            signature.CanonicalRequest);
        Assert.Equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", signature.Signature);
        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
            + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", signature.Authorization);
    }

    [Fact]
    public void Post_vanilla() =>
        Assert.Equal("5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", SignVector("POST", "/", "", [], "").Signature);

    [Fact]
    public void Get_vanilla_query_order_key_case() =>
        Assert.Equal("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            SignVector("GET", "/", "Param2=value2&Param1=value1", [], "").Signature);

    [Fact]
    public void Post_x_www_form_urlencoded()
    {
        // aws-c-auth's current version of the case also signs content-length and x-amz-content-sha256.
        var signature = SignVector("POST", "/", "",
        [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", "13"),
            ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
        ], "Param1=value1");
        Assert.Equal("content-length;content-type;host;x-amz-content-sha256;x-amz-date", signature.SignedHeaders);
        Assert.Equal("d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b", signature.Signature);
    }

    [Fact]
    public void Get_vanilla_with_session_token() =>
        Assert.Equal("07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
            SignVector("GET", "/", "", [("X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267")], "").Signature);

    [Fact]
    public void Get_header_value_trim()
    {
        var signature = SignVector("GET", "/", "", [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")], "");
        Assert.Contains("my-header1:value1\nmy-header2:\"a b c\"\n", signature.CanonicalRequest, StringComparison.Ordinal);
        Assert.Equal("acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736", signature.Signature);
    }

    [Fact]
    public void Get_unreserved() =>
        Assert.Equal("07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
            SignVector("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "", [], "").Signature);

    [Fact]
    public void Get_utf8()
    {
        var signature = SignVector("GET", "/\u1234", "", [], "");
        Assert.StartsWith("GET\n/%E1%88%B4\n", signature.CanonicalRequest, StringComparison.Ordinal);
        Assert.Equal("8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85", signature.Signature);
    }

    [Fact]
    public void Final_signing_step_agrees_with_aws_sdk_net()
    {
        // AWSSDK.Core's AWS4Signer derives the key and signs a canonical request we give it: an independent check of
        // the string-to-sign and key derivation, for the Bedrock service name and a real-looking region.
        var request = new SigV4Request("POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke", "",
            [new("host", "bedrock-runtime.eu-west-3.amazonaws.com"), new("x-amz-date", "20261124T023000Z"), new("content-type", "application/json")],
            SigV4.HashPayload("{}"u8));
        var time = new DateTimeOffset(2026, 11, 24, 2, 30, 0, TimeSpan.Zero);
        var ours = SigV4.Sign(request, Example, "eu-west-3", "bedrock", time);
        var sdk = Amazon.Runtime.Internal.Auth.AWS4Signer.ComputeSignature(Example.AccessKeyId, Example.SecretAccessKey, "eu-west-3",
            time.UtcDateTime, "bedrock", ours.SignedHeaders, ours.CanonicalRequest);
        Assert.Equal(sdk.Signature, ours.Signature);
        Assert.Equal(sdk.ForAuthorizationHeader, ours.Authorization);
    }

    [Fact]
    public void Bedrock_model_id_with_colon_is_double_encoded_in_the_canonical_request()
    {
        var endpoint = new BedrockEndpoint("us-east-1");
        var uri = endpoint.InvokeUri("anthropic.claude-3-5-sonnet-20241022-v2:0", BedrockOperation.InvokeWithResponseStream);
        Assert.Equal("https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke-with-response-stream",
            uri.OriginalString);
        using var message = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent("{}"u8.ToArray()) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var signature = SigV4BedrockAuthorizer.Sign(message, "{}"u8, Example, VectorTime, null, "us-east-1");
        Assert.StartsWith("POST\n/model/anthropic.claude-3-5-sonnet-20241022-v2%253A0/invoke-with-response-stream\n\n", signature.CanonicalRequest,
            StringComparison.Ordinal);
        Assert.Equal("content-type;host;x-amz-date", signature.SignedHeaders);
        // The wire path is the one that was signed: no canonicalization turned %3A back into ':'.
        Assert.Equal("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke-with-response-stream", message.RequestUri!.AbsolutePath);
        Assert.Equal(message.Headers.GetValues("Authorization").Single(), signature.Authorization);
        Assert.Equal("20150830T123600Z", message.Headers.GetValues("X-Amz-Date").Single());
        // Cross-check with AWSSDK.Core's own path canonicalization for the same resource path and model id.
        var sdkPath = Amazon.Util.AWSSDKUtils.CanonicalizeResourcePathV2(new Uri("https://bedrock-runtime.us-east-1.amazonaws.com"),
            "/model/{modelId}/invoke-with-response-stream", true,
            new Dictionary<string, string> { ["{modelId}"] = "anthropic.claude-3-5-sonnet-20241022-v2:0" });
        Assert.Equal(sdkPath, signature.CanonicalRequest.Split('\n')[1]);
    }

    [Fact]
    public void Bedrock_arn_model_id_keeps_its_slash_inside_one_segment()
    {
        var endpoint = new BedrockEndpoint("us-west-2");
        var arn = "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc123";
        var uri = endpoint.InvokeUri(arn, BedrockOperation.Invoke);
        Assert.Equal("/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Aapplication-inference-profile%2Fabc123/invoke", uri.AbsolutePath);
        Assert.Equal("/model/arn%253Aaws%253Abedrock%253Aus-west-2%253A123456789012%253Aapplication-inference-profile%252Fabc123/invoke",
            SigV4.CanonicalUri(uri.AbsolutePath));
    }

    [Fact]
    public void Session_token_is_sent_and_signed()
    {
        var temporary = new AwsCredentials("ASIAEXAMPLE", "secret", "token-value");
        using var message = new HttpRequestMessage(HttpMethod.Post, new BedrockEndpoint("us-east-1").InvokeUri("anthropic.x-v1:0", BedrockOperation.Invoke));
        var signature = SigV4BedrockAuthorizer.Sign(message, default, temporary, VectorTime, new SigningKeyCache(), "us-east-1");
        Assert.Equal("host;x-amz-date;x-amz-security-token", signature.SignedHeaders);
        Assert.Equal("token-value", message.Headers.GetValues("X-Amz-Security-Token").Single());
    }

    [Fact]
    public void Signing_key_cache_gives_the_same_signature_and_rederives_on_a_new_day()
    {
        var cache = new SigningKeyCache();
        var request = new SigV4Request("GET", "/", "", [new("host", "example.amazonaws.com"), new("x-amz-date", "20150830T123600Z")], SigV4.EmptyPayloadHash);
        var first = SigV4.Sign(request, Example, "us-east-1", "service", VectorTime, cache);
        var second = SigV4.Sign(request, Example, "us-east-1", "service", VectorTime, cache);
        Assert.Equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", first.Signature);
        Assert.Equal(first.Signature, second.Signature);
        var nextDay = SigV4.Sign(request, Example, "us-east-1", "service", VectorTime.AddDays(1), cache);
        Assert.Equal(SigV4.Sign(request, Example, "us-east-1", "service", VectorTime.AddDays(1)).Signature, nextDay.Signature);
    }

    [Fact]
    public void Credentials_never_print_their_secret()
    {
        var text = new AwsCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLETOKEN").ToString();
        Assert.DoesNotContain("wJalr", text, StringComparison.Ordinal);
        Assert.DoesNotContain("FwoG", text, StringComparison.Ordinal);
        Assert.DoesNotContain("AKIAIOSFODNN7", text, StringComparison.Ordinal);
        Assert.Contains("MPLE", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Amz_date_round_trips()
    {
        Assert.True(SigV4.TryParseAmzDate("20150830T123600Z", out var time));
        Assert.Equal(VectorTime, time);
        Assert.Equal("20150830T123600Z", SigV4.FormatAmzDate(time));
        Assert.False(SigV4.TryParseAmzDate("2015-08-30", out _));
        Assert.Equal("20150830", VectorTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Bearer_api_key_replaces_sigv4()
    {
        var authorizer = new BearerTokenBedrockAuthorizer("bedrock-api-key-EXAMPLE");
        using var message = new HttpRequestMessage(HttpMethod.Post, "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke");
        await authorizer.AuthorizeAsync(message, default, CancellationToken.None);
        Assert.Equal("Bearer bedrock-api-key-EXAMPLE", message.Headers.GetValues("Authorization").Single());
        Assert.False(message.Headers.Contains("X-Amz-Date"));
        Assert.DoesNotContain("EXAMPLE", authorizer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigv4_authorizer_uses_its_credential_provider_and_clock()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(VectorTime);
        var authorizer = new SigV4BedrockAuthorizer(new StaticAwsCredentialProvider(Example), "us-east-1", time);
        using var message = new HttpRequestMessage(HttpMethod.Post, new BedrockEndpoint("us-east-1").InvokeUri("anthropic.x-v1:0", BedrockOperation.Invoke));
        await authorizer.AuthorizeAsync(message, "{}"u8.ToArray(), CancellationToken.None);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=",
            message.Headers.GetValues("Authorization").Single(), StringComparison.Ordinal);
    }
}
