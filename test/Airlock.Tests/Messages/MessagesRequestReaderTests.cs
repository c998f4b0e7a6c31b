using System.Text;
using Airlock.Protocols.Messages;

namespace Airlock.Tests.Messages;

public sealed class MessagesRequestReaderTests
{
    private const int Depth = 128;

    private static (bool Ok, MessagesRequestInfo Info, string? Error) Read(string json, int maxDepth = Depth) => Read(Encoding.UTF8.GetBytes(json), maxDepth);

    private static (bool Ok, MessagesRequestInfo Info, string? Error) Read(byte[] body, int maxDepth = Depth)
    {
        var ok = MessagesRequestReader.TryRead(body, maxDepth, out var info, out var error);
        return (ok, info, error);
    }

    [Fact]
    public void Picks_model_and_stream_from_the_top_level()
    {
        var (ok, info, error) = Read("""{"max_tokens":5,"metadata":{"model":"nested","stream":false},"model":"claude-opus-5-5","messages":[{"model":"x"}],"stream":true}""");

        Assert.True(ok, error);
        Assert.Null(error);
        Assert.Equal("claude-opus-5-5", info.Model);
        Assert.True(info.Stream);
    }

    [Fact]
    public void Missing_model_and_stream_read_as_null_and_false()
    {
        var (ok, info, _) = Read("""{"messages":[]}""");

        Assert.True(ok);
        Assert.Null(info.Model);
        Assert.False(info.Stream);
    }

    [Fact]
    public void Escaped_model_names_are_unescaped()
    {
        var (ok, info, _) = Read("""{"model":"claude\u002dopus"}""");

        Assert.True(ok);
        Assert.Equal("claude-opus", info.Model);
    }

    [Theory]
    [InlineData("""{"model":42}""")]
    [InlineData("""{"model":null}""")]
    [InlineData("""{"model":["claude"]}""")]
    [InlineData("""{"model":{"id":"claude"}}""")]
    [InlineData("""{"model":true}""")]
    public void Model_must_be_a_string(string json)
    {
        var (ok, _, error) = Read(json);

        Assert.False(ok);
        Assert.Equal("model: must be a string", error);
    }

    [Theory]
    [InlineData("""{"stream":"true"}""")]
    [InlineData("""{"stream":1}""")]
    [InlineData("""{"stream":null}""")]
    public void Stream_must_be_a_boolean(string json)
    {
        var (ok, _, error) = Read(json);

        Assert.False(ok);
        Assert.Equal("stream: must be a boolean", error);
    }

    [Fact]
    public void A_repeated_model_field_is_refused()
    {
        // Parsers disagree on duplicate keys (first wins, last wins, error): the gateway must not route on one
        // value while the upstream serves another.
        var (ok, _, error) = Read("""{"model":"claude-haiku-4-5","model":"claude-opus-5-5"}""");

        Assert.False(ok);
        Assert.Contains("model", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repeated_stream_field_is_refused()
    {
        var (ok, _, error) = Read("""{"model":"x","stream":false,"stream":true}""");

        Assert.False(ok);
        Assert.Equal("stream: appears more than once", error);
    }

    [Fact]
    public void Repeated_keys_below_the_top_level_are_fine()
    {
        var (ok, info, _) = Read("""{"model":"x","metadata":{"model":"a","model":"b"},"messages":[{"stream":1},{"stream":2}]}""");

        Assert.True(ok);
        Assert.Equal("x", info.Model);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[{\"model\":\"x\"}]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void Body_must_be_an_object(string json)
    {
        var (ok, _, error) = Read(json);

        Assert.False(ok);
        Assert.Equal("request body must be a JSON object", error);
    }

    [Fact]
    public void Empty_body_is_refused()
    {
        var (ok, _, error) = Read([]);

        Assert.False(ok);
        Assert.Contains("empty", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"model\":\"x\"")]
    [InlineData("{\"model\":\"x\",}")]
    [InlineData("{\"model\":\"x\"} {}")]
    [InlineData("{\"model\":\"x\"}garbage")]
    [InlineData("{/* comment */\"model\":\"x\"}")]
    [InlineData("{'model':'x'}")]
    [InlineData("{\"a\":01}")]
    [InlineData("{\"a\":\"\\x\"}")]
    [InlineData("   ")]
    public void Malformed_json_is_refused_with_its_position(string json)
    {
        var (ok, _, error) = Read(json);

        Assert.False(ok);
        Assert.NotNull(error);
        Assert.True(error.StartsWith("malformed JSON at line 1, byte ", StringComparison.Ordinal) || error.Contains("JSON object", StringComparison.Ordinal), error);
    }

    [Fact]
    public void Malformed_json_error_reports_the_line()
    {
        var (_, _, error) = Read("{\n\"model\": \"x\",\n\"messages\": [,]\n}");

        Assert.StartsWith("malformed JSON at line 3,", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_messages_never_quote_request_content()
    {
        const string secret = "AKIAFAKEFAKEFAKE1234";
        foreach (var json in new[]
        {
            "{\"model\":\"x\",\"messages\":\"" + secret,
            "{\"model\":\"x\",\"messages\":\"" + secret + "\\q\"}",
            "{\"model\":\"x\",\"" + secret + "\" 1}",
            "{\"model\":\"x\",\"messages\":" + secret + "}",
        })
        {
            var (ok, _, error) = Read(json);
            Assert.False(ok);
            Assert.DoesNotContain(secret, error, StringComparison.Ordinal);
            Assert.DoesNotContain("AKIA", error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 }, 0)]
    [InlineData(new byte[] { 0xC0, 0x80 }, 0)]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, 0)]
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 }, 0)]
    [InlineData(new byte[] { 0xE2, 0x82 }, 0)]
    [InlineData(new byte[] { 0xFF }, 0)]
    public void Invalid_utf8_is_refused_with_the_offset(byte[] bad, int offsetInBad)
    {
        var prefix = Encoding.UTF8.GetBytes("{\"model\":\"x\",\"messages\":\"caf\u00e9 ");
        var body = prefix.Concat(bad).Concat("\"}"u8.ToArray()).ToArray();

        var (ok, _, error) = Read(body);

        Assert.False(ok);
        Assert.Equal($"request body is not valid UTF-8 (first invalid byte at offset {prefix.Length + offsetInBad})", error);
    }

    [Fact]
    public void Nesting_up_to_the_limit_is_accepted_and_one_deeper_is_refused()
    {
        // The root object is depth 1; "messages" holds the arrays.
        string Body(int arrays) => "{\"model\":\"x\",\"messages\":" + new string('[', arrays) + new string(']', arrays) + "}";

        var atLimit = Read(Body(15), maxDepth: 16);
        var overLimit = Read(Body(16), maxDepth: 16);

        Assert.True(atLimit.Ok, atLimit.Error);
        Assert.False(overLimit.Ok);
        Assert.Contains("depth", overLimit.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Pathological_depth_is_refused_without_recursion()
    {
        var (ok, _, error) = Read("{\"messages\":" + new string('[', 100_000) + new string(']', 100_000) + "}");

        Assert.False(ok);
        Assert.NotNull(error);
    }
}
