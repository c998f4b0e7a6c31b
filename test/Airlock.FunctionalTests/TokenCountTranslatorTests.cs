using System.Buffers;
using System.Text;
using Airlock.Gateway.Upstreams;

namespace Airlock.FunctionalTests;

/// <summary>The count-tokens answer rewrite both ways, and its refusals of answers it cannot read.</summary>
public sealed class TokenCountTranslatorTests
{
    [Fact]
    public void Bedrock_inputTokens_becomes_messages_input_tokens_across_chunks()
    {
        using var translator = TokenCountTranslator.BedrockToMessages("bedrock-east");
        var output = new ArrayBufferWriter<byte>();
        Assert.True(translator.Translate("{\"inputTo"u8, output));
        Assert.True(translator.Translate("kens\":42}"u8, output));
        Assert.Equal(0, output.WrittenCount); // nothing goes out before the whole answer is read
        Assert.True(translator.Complete(output));
        Assert.Equal("{\"input_tokens\":42}", Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.False(translator.ProducesSse);
        Assert.Null(translator.Failure);
    }

    [Fact]
    public void Messages_input_tokens_becomes_bedrock_inputTokens()
    {
        using var translator = TokenCountTranslator.MessagesToBedrock();
        var output = new ArrayBufferWriter<byte>();
        Assert.True(translator.Translate("{\"input_tokens\":7}"u8, output));
        Assert.True(translator.Complete(output));
        Assert.Equal("{\"inputTokens\":7}", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData("{\"input_tokens\":12}")] // the other dialect's name
    [InlineData("{\"inputTokens\":-1}")]
    [InlineData("{\"inputTokens\":\"12\"}")]
    [InlineData("[12]")]
    [InlineData("{\"inputTokens\":")]
    public void An_answer_without_a_readable_count_is_a_502_naming_the_upstream_and_the_field(string answer)
    {
        using var translator = TokenCountTranslator.BedrockToMessages("bedrock-east");
        var output = new ArrayBufferWriter<byte>();
        Assert.True(translator.Translate(Encoding.UTF8.GetBytes(answer), output));
        Assert.False(translator.Complete(output));
        Assert.Equal(0, output.WrittenCount);
        var failure = Assert.NotNull(translator.Failure);
        Assert.Equal(502, failure.Error.Status);
        Assert.Equal("upstream_bad_answer", failure.ErrorType);
        Assert.Equal("upstream 'bedrock-east' (Bedrock) answered count-tokens with a body that has no inputTokens number", failure.Error.Message);
    }

    [Fact]
    public void An_oversized_answer_is_refused_before_it_is_buffered_whole()
    {
        using var translator = TokenCountTranslator.MessagesToBedrock();
        var output = new ArrayBufferWriter<byte>();
        Assert.True(translator.Translate(new byte[60 * 1024], output));
        Assert.False(translator.Translate(new byte[8 * 1024], output));
        var failure = Assert.NotNull(translator.Failure);
        Assert.Equal("the upstream answered count-tokens with a body that is larger than 64 KB", failure.Error.Message);
    }
}
