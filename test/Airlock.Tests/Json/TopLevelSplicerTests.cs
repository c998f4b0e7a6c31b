using System.Text;
using System.Text.Json;
using Airlock.Protocols.Json;

namespace Airlock.Tests.Json;

public sealed class TopLevelSplicerTests
{
    private static string Edit(string body, string[] remove, params (string Name, string Raw)[] insert) =>
        Encoding.UTF8.GetString(TopLevelSplicer.Edit(Encoding.UTF8.GetBytes(body), remove,
            insert.Select(i => new TopLevelSplicer.Insertion(i.Name, Encoding.UTF8.GetBytes(i.Raw))).ToList()));

    [Fact]
    public void Removing_and_inserting_keeps_every_other_byte()
    {
        const string body = "{\n  \"model\": \"claude-opus-5-5\",\n  \"max_tokens\" : 10,\n  \"stream\":true,\n  \"x_unknown\": {\"a\" :[1, 2]}\n}\n";
        var edited = Edit(body, ["model", "stream"], ("anthropic_version", "\"bedrock-2023-05-31\""));
        Assert.Equal("{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\" : 10,\"x_unknown\": {\"a\" :[1, 2]}\n}\n", edited);
        using var document = JsonDocument.Parse(edited);
        Assert.Equal(10, document.RootElement.GetProperty("max_tokens").GetInt32());
    }

    [Theory]
    [InlineData("{\"model\":\"m\"}", "{}")]
    [InlineData("{\"a\":1,\"model\":\"m\"}", "{\"a\":1}")]
    [InlineData("{\"model\":\"m\",\"a\":1}", "{\"a\":1}")]
    [InlineData("{\"a\":1,\"model\":\"m\",\"b\":[{\"model\":\"nested stays\"}]}", "{\"a\":1,\"b\":[{\"model\":\"nested stays\"}]}")]
    [InlineData("{ }", "{ }")]
    public void Removal_leaves_valid_json(string body, string expected)
    {
        var edited = Edit(body, ["model"]);
        Assert.Equal(expected, edited);
        using var _ = JsonDocument.Parse(edited);
    }

    [Fact]
    public void Insertion_into_an_empty_object()
    {
        Assert.Equal("{\"model\":\"m\",\"stream\":true}", Edit("{}", [], ("model", "\"m\""), ("stream", "true")));
    }

    [Fact]
    public void Reads_top_level_values_and_string_arrays()
    {
        var body = "{\"messages\":[{\"anthropic_beta\":[\"no\"]}],\"anthropic_beta\":[\"a-1\",\"b-2\"],\"anthropic_version\":\"v\"}"u8;
        Assert.Equal(["a-1", "b-2"], TopLevelSplicer.StringArray(body, "anthropic_beta"));
        Assert.Equal("\"v\"", Encoding.UTF8.GetString(TopLevelSplicer.RawValue(body, "anthropic_version")));
        Assert.True(TopLevelSplicer.Has(body, "messages"));
        Assert.False(TopLevelSplicer.Has(body, "model"));
        Assert.Empty(TopLevelSplicer.StringArray(body, "missing"));
    }

    [Fact]
    public void Escaped_member_names_are_matched_decoded()
    {
        Assert.Equal("{\"a\":1}", Edit("{\"mod\\u0065l\":\"m\",\"a\":1}", ["model"]));
    }

    [Fact]
    public void Not_an_object_is_refused()
    {
        Assert.ThrowsAny<JsonException>(() => Edit("[1]", ["model"]));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData(" {\n \"model\" : \"m\" ,\"stream\":true, \"messages\":[{\"model\":\"x\"}], \"n\":null }\n")]
    [InlineData("{\"mod\\u0065l\":\"m\",\"anthropic_beta\":[\"a\",\"b\"],\"t\":{\"x\":[1,{\"y\":2}]},\"é\":1}")]
    public void The_validation_pass_locates_members_as_a_separate_walk_does(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        Assert.True(Airlock.Protocols.Messages.MessagesRequestReader.TryRead(body, 64, out var info, out var error), error);
        var fromValidation = info.Layout!;
        var walked = JsonObjectLayout.Read(body);
        Assert.Equal(walked.Open, fromValidation.Open);
        Assert.Equal(walked.Members, fromValidation.Members);
        string[] remove = ["model", "stream", "é"];
        var insert = new List<TopLevelSplicer.Insertion> { new("anthropic_version", "\"v\""u8.ToArray()) };
        Assert.Equal(
            Encoding.UTF8.GetString(TopLevelSplicer.Edit(body, remove, insert)),
            Encoding.UTF8.GetString(TopLevelSplicer.Edit(body, fromValidation, remove, insert).Span));
        Assert.Equal(TopLevelSplicer.StringArray(body, "anthropic_beta"), TopLevelSplicer.StringArray(body, fromValidation, "anthropic_beta"));
    }

    [Fact]
    public void Member_names_compare_decoded_and_non_ascii()
    {
        var body = "{\"mod\\u0065l\":1,\"é\":2,\"e\":3}"u8;
        var layout = JsonObjectLayout.Read(body);
        Assert.Equal(0, layout.IndexOf(body, "model"));
        Assert.Equal(1, layout.IndexOf(body, "é"));
        Assert.Equal(2, layout.IndexOf(body, "e"));
        Assert.Equal(-1, layout.IndexOf(body, "mode"));
        Assert.Equal("2", Encoding.UTF8.GetString(layout.RawValue(body, "é")));
    }

    [Fact]
    public void A_layout_of_other_bytes_is_refused()
    {
        var layout = JsonObjectLayout.Read("{\"a\":1}"u8);
        Assert.Throws<ArgumentException>(() => TopLevelSplicer.Edit("{\"a\":12}"u8, layout, [], []));
    }

    [Fact]
    public void An_edit_into_a_caller_buffer_writes_the_same_bytes_and_needs_the_bound()
    {
        // A Bedrock body as Claude Code sends it (version appended last) turned into a Messages body, as the Bedrock door does.
        var body = "{\"max_tokens\":32000,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"anthropic_version\":\"bedrock-2023-05-31\"}"u8.ToArray();
        var layout = JsonObjectLayout.Read(body);
        string[] remove = ["model", "anthropic_version", "anthropic_beta"];
        TopLevelSplicer.Insertion[] insert = [new("model", TopLevelSplicer.StringLiteral("claude-opus-5-5")), new("stream", "true"u8.ToArray())];
        var expected = TopLevelSplicer.Edit(body, layout, remove, insert).ToArray();

        // A pooled buffer holds stale bytes past the bound: they must not matter.
        var destination = new byte[TopLevelSplicer.EditedLengthBound(body.Length, insert) + 7];
        destination.AsSpan().Fill((byte)'x');
        var written = TopLevelSplicer.Edit(body, layout, remove, insert, destination);

        Assert.Equal(expected, destination[..written]);
        Assert.Equal("{\"model\":\"claude-opus-5-5\",\"stream\":true,\"max_tokens\":32000,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
            Encoding.UTF8.GetString(destination, 0, written));
        Assert.Throws<ArgumentException>(() => TopLevelSplicer.Edit(body, layout, remove, insert, new byte[TopLevelSplicer.EditedLengthBound(body.Length, insert) - 1]));
    }
}
